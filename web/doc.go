// Package web serves Switchboard's browser UI and JSON API: the chi router,
// embedded HTML templates and assets, sessions and CSRF protection. Handlers
// are thin: parse input, ask authz, call the store, render. It never imports
// package sip; live state comes in through the small interfaces it defines.
package web
