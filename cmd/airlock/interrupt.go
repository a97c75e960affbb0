package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Interrupts (SIGINT, SIGTERM, SIGHUP). By default airlock dies by the
// signal, as it always has. Two things change that:
//
//   - interruptContext, around a library call that takes a context (a
//     signing batch): the signal cancels the context, the call returns
//     having removed what it staged (or having finished its commit), the
//     command says on stderr what was written, and airlock then dies by
//     the same signal (exit 130 for SIGINT in a shell);
//   - onInterrupt, around a wait that no context can end (a PIN or
//     password prompt): the signal runs its cleanup (restoring the
//     terminal's echo) and airlock dies by the signal at once.
//
// Go's default for these signals skips deferred cleanup, which left staged
// outputs behind and a terminal with echo off after Ctrl-C at a prompt. A
// signal the process was started ignoring stays ignored.
var interrupts struct {
	once   sync.Once
	sigs   []os.Signal
	mu     sync.Mutex
	next   int
	fns    map[int]func()
	cancel context.CancelCauseFunc // the open interruptContext, or nil
}

// An interruptedError is the cause of a context cancelled by a signal.
type interruptedError struct{ sig os.Signal }

func (e *interruptedError) Error() string { return "interrupted" }

func watchInterrupts() {
	interrupts.once.Do(func() {
		for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
			if !signal.Ignored(sig) {
				interrupts.sigs = append(interrupts.sigs, sig)
			}
		}
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, interrupts.sigs...)
		go func() {
			for sig := range ch {
				interrupts.mu.Lock()
				if interrupts.cancel != nil && len(interrupts.fns) == 0 {
					interrupts.cancel(&interruptedError{sig})
					interrupts.mu.Unlock()
					continue
				}
				for _, f := range interrupts.fns {
					f()
				}
				dieBy(sig)
			}
		}()
	})
}

// dieBy ends the process by sig, as the signal's default action would.
func dieBy(sig os.Signal) {
	signal.Reset(interrupts.sigs...)
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Signal(sig)
	}
	time.Sleep(time.Second)
	os.Exit(2) // not reached where the signal's default action ends the process
}

// interruptContext returns a context that an interrupt cancels, and stop,
// which closes it and returns the signal that cancelled it, if any.
func interruptContext(parent context.Context) (ctx context.Context, stop func() os.Signal) {
	watchInterrupts()
	ctx, cancel := context.WithCancelCause(parent)
	interrupts.mu.Lock()
	interrupts.cancel = cancel
	interrupts.mu.Unlock()
	return ctx, func() os.Signal {
		interrupts.mu.Lock()
		interrupts.cancel = nil
		interrupts.mu.Unlock()
		defer cancel(nil)
		if ie, ok := context.Cause(ctx).(*interruptedError); ok {
			return ie.sig
		}
		return nil
	}
}

// interrupted reports on stderr what an interrupted command wrote, and
// ends the process by sig.
func interrupted(stderr io.Writer, sig os.Signal, what string) {
	fmt.Fprintf(stderr, "airlock: interrupted: %s\n", what)
	dieBy(sig)
}

// onInterrupt runs fn if airlock is interrupted before remove is called,
// and then lets the signal end the process.
func onInterrupt(fn func()) (remove func()) {
	watchInterrupts()
	interrupts.mu.Lock()
	defer interrupts.mu.Unlock()
	if interrupts.fns == nil {
		interrupts.fns = map[int]func(){}
	}
	id := interrupts.next
	interrupts.next++
	interrupts.fns[id] = fn
	return func() {
		interrupts.mu.Lock()
		defer interrupts.mu.Unlock()
		delete(interrupts.fns, id)
	}
}
