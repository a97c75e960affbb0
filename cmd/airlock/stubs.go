package main

import "github.com/urfave/cli/v2"

// Placeholders replaced by their issues' files.

func bundleCommand() *cli.Command { return &cli.Command{Name: "bundle", Usage: "inspect Sigstore bundles"} }
