// Package provision writes the configuration files desk phones and
// softphones fetch to set themselves up (Yealink, Grandstream, Polycom,
// Snom, Linphone), their company phone books, and the secrets that guard
// the URLs they fetch from. It does no I/O: web serves what it renders.
package provision
