module github.com/kapu-dev/kapu

go 1.26

require (
	github.com/makiuchi-d/gozxing v0.1.1
	github.com/pquerna/otp v1.5.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	golang.org/x/text v0.3.7 // indirect
	golang.org/x/xerrors v0.0.0-20200804184101-5ec99f83aff1 // indirect
)
