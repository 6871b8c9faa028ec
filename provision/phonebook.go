package provision

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Entry is one number of the company phone book.
type Entry struct {
	Name   string
	Number string
}

type ylDirectory struct {
	XMLName xml.Name  `xml:"YealinkIPPhoneDirectory"`
	Entries []ylEntry `xml:"DirectoryEntry"`
}

type ylEntry struct {
	Name      string `xml:"Name"`
	Telephone string `xml:"Telephone"`
}

type snomDirectory struct {
	XMLName xml.Name  `xml:"SnomIPPhoneDirectory"`
	Title   string    `xml:"Title"`
	Prompt  string    `xml:"Prompt"`
	Entries []ylEntry `xml:"DirectoryEntry"`
}

// plDirectory is a Poly (Polycom) contact directory, <mac>-directory.xml.
type plDirectory struct {
	XMLName xml.Name `xml:"directory"`
	Items   []plItem `xml:"item_list>item"`
}

type plItem struct {
	First   string `xml:"fn"`
	Last    string `xml:"ln"`
	Contact string `xml:"ct"`
}

type gsAddressBook struct {
	XMLName  xml.Name    `xml:"AddressBook"`
	Contacts []gsContact `xml:"Contact"`
}

type gsContact struct {
	LastName  string  `xml:"LastName"`
	FirstName string  `xml:"FirstName"`
	Phone     gsPhone `xml:"Phone"`
}

type gsPhone struct {
	Number  string `xml:"phonenumber"`
	Account int    `xml:"accountindex"`
}

// PhoneBook renders entries in the phone book format of vendor v:
// <YealinkIPPhoneDirectory> for Yealink (and Linphone, which has none of
// its own), <AddressBook> for Grandstream, <SnomIPPhoneDirectory> for Snom,
// <directory><item_list> for Poly (which fetches it as <mac>-directory.xml).
func PhoneBook(v directory.Vendor, title string, entries []Entry) (*File, error) {
	var doc any
	switch v {
	case directory.Grandstream:
		ab := gsAddressBook{Contacts: make([]gsContact, len(entries))}
		for i, e := range entries {
			first, last, _ := strings.Cut(e.Name, " ")
			ab.Contacts[i] = gsContact{FirstName: first, LastName: last, Phone: gsPhone{Number: e.Number, Account: 1}}
		}
		doc = ab
	case directory.Polycom:
		d := plDirectory{}
		for _, e := range entries {
			first, last, _ := strings.Cut(e.Name, " ")
			d.Items = append(d.Items, plItem{First: first, Last: last, Contact: e.Number})
		}
		doc = d
	case directory.Snom:
		d := snomDirectory{Title: title, Prompt: "Prompt"}
		for _, e := range entries {
			d.Entries = append(d.Entries, ylEntry{e.Name, e.Number})
		}
		doc = d
	default:
		d := ylDirectory{}
		for _, e := range entries {
			d.Entries = append(d.Entries, ylEntry{e.Name, e.Number})
		}
		doc = d
	}
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("phone book: %w", err)
	}
	return &File{Name: "phonebook.xml", ContentType: "application/xml; charset=utf-8",
		Body: append([]byte(xml.Header), append(body, '\n')...)}, nil
}
