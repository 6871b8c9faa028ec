package web

import (
	"encoding/base64"
	"html/template"

	qrcode "github.com/skip2/go-qrcode"
)

// qrDataURL returns a PNG QR code of text as a data: URL (the page's CSP
// allows data: images), for the mobile apps that read their provisioning
// URL from one; "" when text does not fit a QR code. The value is ours (a
// PNG we encoded), so it is marked safe for a src attribute, which
// html/template otherwise blanks for data: URLs.
func qrDataURL(text string) template.URL {
	png, err := qrcode.Encode(text, qrcode.Medium, 256)
	if err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}
