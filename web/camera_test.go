package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/png" // registers the PNG decoder
	"os"
)

// Fake camera: Chromium's --use-file-for-fake-video-capture plays a Y4M
// file as the camera. writeY4M makes one from a QR code PNG (the one a
// page shows), centred on white, as a phone held in front of a screen
// would see it.

const camW, camH = 640, 480

func writeY4M(path string, pngData []byte) error {
	img, _, err := image.Decode(bytes.NewReader(pngData))
	if err != nil {
		return fmt.Errorf("camera: %w", err)
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", camW, camH)
	b := img.Bounds()
	side := 420 // pixels of the code in the frame
	y := make([]byte, camW*camH)
	for i := range y {
		y[i] = 235
	}
	x0, y0 := (camW-side)/2, (camH-side)/2
	for py := 0; py < side; py++ {
		for px := 0; px < side; px++ {
			sx := b.Min.X + px*b.Dx()/side
			sy := b.Min.Y + py*b.Dy()/side
			g := color.GrayModel.Convert(img.At(sx, sy)).(color.Gray)
			y[(y0+py)*camW+x0+px] = 16 + byte(int(g.Y)*219/255)
		}
	}
	chroma := bytes.Repeat([]byte{128}, camW*camH/2)
	for range 3 {
		w.WriteString("FRAME\n")
		w.Write(y)
		w.Write(chroma)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}
