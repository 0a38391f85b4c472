module github.com/phonelock/phonelock

go 1.26.8

require (
	github.com/percipia/eslgo v1.5.2 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
