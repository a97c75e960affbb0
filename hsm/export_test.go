//go:build cgo

package hsm

import "github.com/miekg/pkcs11"

// Test hooks: reach the module's raw PKCS#11 context to make objects airlock
// never makes (keys that may not sign, mismatched pairs, certificates) and
// to pull sessions away as a removed token does.

func (m *Module) RawCtx() *pkcs11.Ctx { return m.lib.ctx }

func (k *Key) RawSlot() uint { return k.st.slot }

func (k *Key) RawCtx() *pkcs11.Ctx { return k.mod.lib.ctx }

func (k *Key) RawObject() pkcs11.ObjectHandle { return k.obj }

// SetMaxFoundObjects lowers the bound on one search for the test and
// restores it when the test ends.
func SetMaxFoundObjects(t interface{ Cleanup(func()) }, n int) {
	old := maxFoundObjects
	maxFoundObjects = n
	t.Cleanup(func() { maxFoundObjects = old })
}
