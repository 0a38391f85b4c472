module github.com/phonelock/phonelock

go 1.26.8
