package walletapp

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
)

// The icon: a white card with a red seal on Tong's red, drawn here so that
// no binary is committed. Maskable icons keep the drawing inside the
// central 80 % safe zone (W3C Web App Manifest, "maskable" purpose).
var (
	iconRed   = color.RGBA{0xb3, 0x26, 0x1e, 0xff}
	iconWhite = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// icons returns the PNG icons by logical name (drawn once: they are the
// same every time).
var icons = sync.OnceValue(func() map[string][]byte {
	return map[string][]byte{
		"icon-192.png":          drawIcon(192, 0.18, true),
		"icon-512.png":          drawIcon(512, 0.18, true),
		"icon-maskable-512.png": drawIcon(512, 0, false),
		"apple-touch-icon.png":  drawIcon(180, 0, false),
	}
})

// drawIcon draws a size×size icon. radius is the corner radius of the red
// background as a fraction of size (0: square, for maskable icons);
// roomy draws the card larger when no mask will cut it.
func drawIcon(size int, radius float64, roomy bool) []byte {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	scale := 0.62 // card width inside the 80 % safe zone
	if roomy {
		scale = 0.7
	}
	cw, ch := s*scale, s*scale*0.66
	cx0, cy0 := (s-cw)/2, (s-ch)/2
	seal := ch * 0.22
	sx, sy := cx0+cw*0.74, cy0+ch*0.62
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			if !inRoundRect(px, py, 0, 0, s, s, radius*s) {
				continue // transparent corner
			}
			c := iconRed
			if inRoundRect(px, py, cx0, cy0, cw, ch, ch*0.12) {
				c = iconWhite
				// a red seal and two red lines of "text" on the card
				if math.Hypot(px-sx, py-sy) < seal ||
					inRoundRect(px, py, cx0+cw*0.1, cy0+ch*0.2, cw*0.5, ch*0.1, ch*0.05) ||
					inRoundRect(px, py, cx0+cw*0.1, cy0+ch*0.42, cw*0.34, ch*0.1, ch*0.05) {
					c = iconRed
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an RGBA image into memory cannot fail
	return buf.Bytes()
}

func inRoundRect(px, py, x, y, w, h, r float64) bool {
	if px < x || py < y || px > x+w || py > y+h {
		return false
	}
	// distance to the nearest corner centre, when in a corner square
	cx := math.Min(math.Max(px, x+r), x+w-r)
	cy := math.Min(math.Max(py, y+r), y+h-r)
	return math.Hypot(px-cx, py-cy) <= r
}
