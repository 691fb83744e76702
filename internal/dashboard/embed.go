package dashboard

import "embed"

// uiFiles are the page, its style and its JavaScript modules: no build
// step, `go build` embeds them as they are.
//
//go:embed ui
var uiFiles embed.FS
