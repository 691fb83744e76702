// Package clientside is the home of the client-side pieces the CLI
// (internal/cli), the dashboard (internal/dashboard) and the demo
// (internal/demo) share: tree (the view models `get` renders and the
// dashboard serves), patch (the patches the Argo Rollouts plugin sends),
// action (read, patch, send: what a mutating command does) and health (the
// verdict Argo CD gives the objects Aviary writes). They import
// nothing of those three, so the dependency runs one way; deps_test.go
// checks it.
package clientside
