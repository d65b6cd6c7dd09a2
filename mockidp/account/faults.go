package account

import (
	"fmt"
	"slices"
	"strings"
)

// Fault breaks one requirement on purpose, so that a test can show the
// conformance suite catches it (kapu mockidp --break NAME). A Store with
// no faults follows the SPEC.
type Fault string

// Faults of the account rules. The HTTP layer declares its own.
const (
	FaultSkew0              Fault = "skew-0"               // previous/next step refused
	FaultSkew2              Fault = "skew-2"               // two steps away accepted
	FaultReplay             Fault = "replay"               // a used code works again
	FaultReplayEarlier      Fault = "replay-earlier"       // an earlier step's code works after a success
	FaultEnrollCodeReusable Fault = "enroll-code-reusable" // the enrollment code works at the first login
	FaultNoLockout          Fault = "no-lockout"           // never locks
	FaultLockoutAfter6      Fault = "lockout-after-6"      // locks one attempt late
	FaultLockoutAfter4      Fault = "lockout-after-4"      // locks one attempt early
	FaultShortLock          Fault = "short-lock"           // the lock ends after 14 minutes
	FaultLongLock           Fault = "long-lock"            // the lock is still on at 15:00
	FaultLockedAcceptsRight Fault = "locked-accepts-right" // a right code gets in while locked
	FaultNoCheckbox         Fault = "no-checkbox"          // Befejezés works without the checkbox
	FaultActiveBeforeFinish Fault = "active-before-finish" // Ügyfélkapu+ works before Befejezés
	FaultSecretChanges      Fault = "secret-changes"       // a failed Tovább shows a new secret
	FaultSameSecret         Fault = "same-secret"          // every user gets one secret
	FaultEnrollNoPassword   Fault = "enroll-no-password"   // the enrollment page ignores the password
	FaultRecoveryNotCounted Fault = "recovery-not-counted" // a wrong törlőkód does not count
	FaultRevokeKeepsSecret  Fault = "revoke-keeps-secret"  // old codes work after the törlőkód
	FaultRecoveryReusable   Fault = "recovery-reusable"    // the törlőkód works twice
	FaultReenrollSameSecret Fault = "reenroll-same-secret" // a new phone gets the old secret
	FaultUnenrolledLogin    Fault = "unenrolled-login"     // a user without Ügyfélkapu+ gets past the password
)

// AccountFaults lists the faults this package knows.
var AccountFaults = []Fault{
	FaultSkew0, FaultSkew2, FaultReplay, FaultReplayEarlier, FaultEnrollCodeReusable,
	FaultNoLockout, FaultLockoutAfter6, FaultLockoutAfter4, FaultShortLock, FaultLongLock,
	FaultLockedAcceptsRight, FaultNoCheckbox, FaultActiveBeforeFinish, FaultSecretChanges,
	FaultSameSecret, FaultEnrollNoPassword, FaultRecoveryNotCounted, FaultRevokeKeepsSecret,
	FaultRecoveryReusable, FaultReenrollSameSecret, FaultUnenrolledLogin,
}

// Faults is a set of faults; the zero value has none.
type Faults []Fault

// Has tells whether f is among the faults.
func (fs Faults) Has(f Fault) bool { return slices.Contains(fs, f) }

// ParseFaults reads a comma-separated list, checking each name against known.
func ParseFaults(s string, known []Fault) (Faults, error) {
	var fs Faults
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(known, Fault(name)) {
			return nil, fmt.Errorf("unknown fault %q", name)
		}
		fs = append(fs, Fault(name))
	}
	return fs, nil
}
