package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tongid/tong/internal/qr"
)

// selfSignedValidity is how long a --tls-self-signed certificate lasts: a
// demo's day, with room. It is made anew at every start and never written
// to disk.
const selfSignedValidity = 7 * 24 * time.Hour

// tlsFlags are serve's HTTPS flags. Phones need a secure context for the
// camera, the service worker and installing the wallet, which plain http
// on a LAN address is not.
type tlsFlags struct {
	cert, key  string
	selfSigned bool

	// set by listen
	fingerprint string
	hosts       []string
}

func (t *tlsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&t.cert, "tls-cert", "", "serve HTTPS with this certificate chain (PEM); needs --tls-key")
	fl.StringVar(&t.key, "tls-key", "", "private key (PEM) of --tls-cert")
	fl.BoolVar(&t.selfSigned, "tls-self-signed", false, "serve HTTPS with a certificate made now for this machine's addresses (to try the wallet from a phone on the same network); prints its SHA-256 fingerprint")
}

// listen wraps ln in TLS when a TLS flag is set, and returns the scheme
// of the URLs it serves.
func (t *tlsFlags) listen(ln net.Listener) (net.Listener, string, error) {
	switch {
	case t.selfSigned && (t.cert != "" || t.key != ""):
		return nil, "", usagef("--tls-self-signed makes its own certificate: leave out --tls-cert and --tls-key")
	case (t.cert == "") != (t.key == ""):
		return nil, "", usagef("--tls-cert and --tls-key go together")
	case !t.selfSigned && t.cert == "":
		return ln, "http", nil
	}
	var cert tls.Certificate
	var err error
	if t.selfSigned {
		t.hosts = machineAddresses()
		cert, err = selfSignedCert(t.hosts, time.Now())
	} else {
		cert, err = tls.LoadX509KeyPair(t.cert, t.key)
		if err != nil {
			err = withHint(fmt.Errorf("TLS certificate: %w", err), "--tls-cert is the PEM chain (leaf first), --tls-key its PEM private key")
		}
	}
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(cert.Certificate[0])
	t.fingerprint = colonHex(sum[:])
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	return tls.NewListener(ln, cfg), "https", nil
}

// announce prints what a phone needs: the certificate's fingerprint, to
// compare with what the browser shows before accepting it, and a QR code
// of the wallet's address.
func (t *tlsFlags) announce(w io.Writer, publicURL string) {
	if t.fingerprint == "" {
		return
	}
	fmt.Fprintf(w, "  TLS:     certificate SHA-256 %s\n", t.fingerprint)
	if !t.selfSigned {
		return
	}
	fmt.Fprintf(w, "           self-signed for %s; your browser will warn: check the fingerprint, then accept\n", strings.Join(t.hosts, ", "))
	wallet := publicURL + "/wallet/"
	if code, err := qr.Text(wallet); err == nil {
		fmt.Fprintf(w, "  Scan with your phone to open the wallet (%s):\n%s\n", wallet, code)
	}
}

// defaultPublicURL is the URL to print when --public-url is not given:
// the listening address, or, when it listens on every interface, the
// machine's first LAN address, which a phone can reach.
func defaultPublicURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		for _, h := range machineAddresses() {
			if ip := net.ParseIP(h); ip != nil && ip.To4() != nil && !ip.IsLoopback() {
				host = h
				break
			}
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// machineAddresses lists the loopback addresses, the addresses of every
// interface that is up, "localhost" and the host name.
func machineAddresses() []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add("127.0.0.1")
	add("::1")
	if ifs, err := net.Interfaces(); err == nil {
		for _, in := range ifs {
			if in.Flags&net.FlagUp == 0 {
				continue
			}
			addrs, _ := in.Addrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
					add(ipn.IP.String())
				}
			}
		}
	}
	add("localhost")
	if h, err := os.Hostname(); err == nil {
		add(h)
	}
	return out
}

// selfSignedCert makes an ECDSA P-256 certificate for hosts (IP addresses
// and names), valid from a minute before now for selfSignedValidity.
func selfSignedCert(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Tong demo (self-signed)", Organization: []string{"Tong"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func colonHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%02X", c)
	}
	return sb.String()
}
