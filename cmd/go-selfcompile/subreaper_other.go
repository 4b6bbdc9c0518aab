//go:build !linux

package main

// becomeSubreaper has no equivalent here.
func becomeSubreaper() {}
