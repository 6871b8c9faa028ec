package web

import (
	"encoding/base64"

	qrcode "github.com/skip2/go-qrcode"
)

// qrDataURL returns a PNG QR code of text as a data: URL (the page's CSP
// allows data: images), for the mobile apps that read their provisioning
// URL from one; "" when text does not fit a QR code.
func qrDataURL(text string) string {
	png, err := qrcode.Encode(text, qrcode.Medium, 256)
	if err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}
