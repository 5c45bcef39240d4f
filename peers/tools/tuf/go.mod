module sigverify.local/peers/tools/tuf

go 1.26

tool github.com/theupdateframework/go-tuf/cmd/tuf

require (
	github.com/flynn/go-docopt v0.0.0-20140912013429-f6dd2ebbb31e // indirect
	github.com/secure-systems-lab/go-securesystemslib v0.7.0 // indirect
	github.com/theupdateframework/go-tuf v0.7.0 // indirect
	golang.org/x/crypto v0.16.0 // indirect
	golang.org/x/sys v0.15.0 // indirect
	golang.org/x/term v0.15.0 // indirect
)
