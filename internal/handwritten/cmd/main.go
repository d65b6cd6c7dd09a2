// Command handwritten runs internal/handwritten's login as a whole
// process, browser start included, against a bundled mock of its own: the
// same work as `kapu run flows/login.yaml`, for make bench.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/chromedp/chromedp"
	"github.com/kapu-dev/kapu/internal/handwritten"
	"github.com/kapu-dev/kapu/mockidp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "handwritten:", err)
		os.Exit(1)
	}
}

func run() error {
	srv, err := mockidp.New(mockidp.Options{Skew: 1, TestAPI: true, Clock: mockidp.NewClock()})
	if err != nil {
		return err
	}
	srv.Clock().Apply(mockidp.ClockChange{Freeze: new(true)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, srv)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("/usr/lib/chromium/chromium-headless-shell"))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	if err := chromedp.Do(bctx); err != nil {
		return err
	}
	return handwritten.Login(bctx, "http://"+ln.Addr().String())
}
