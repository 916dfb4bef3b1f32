module github.com/dumont-cloud/go-sdk

go 1.19
