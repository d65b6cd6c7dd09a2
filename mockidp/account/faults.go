package account

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
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

// policyChange is what each fault of this package does to the SPEC's
// Policy: one field each, except the two that pick the secret.
var policyChange = map[Fault]func(*Policy){
	FaultSkew0:              func(p *Policy) { p.Skew = 0 },
	FaultSkew2:              func(p *Policy) { p.Skew = 2 },
	FaultReplay:             func(p *Policy) { p.SpendCodes = false },
	FaultReplayEarlier:      func(p *Policy) { p.RefuseEarlierSteps = false },
	FaultEnrollCodeReusable: func(p *Policy) { p.EnrollCodeSpent = false },
	FaultNoLockout:          func(p *Policy) { p.MaxFailures = 0 },
	FaultLockoutAfter6:      func(p *Policy) { p.MaxFailures = MaxFailures + 1 },
	FaultLockoutAfter4:      func(p *Policy) { p.MaxFailures = MaxFailures - 1 },
	FaultShortLock:          func(p *Policy) { p.LockFor = LockFor - time.Minute },
	FaultLongLock:           func(p *Policy) { p.LockFor = LockFor + time.Minute },
	FaultLockedAcceptsRight: func(p *Policy) { p.RightCodeWhileLock = true },
	FaultNoCheckbox:         func(p *Policy) { p.RequireSaved = false },
	FaultActiveBeforeFinish: func(p *Policy) { p.ActiveBeforeFinish = true },
	FaultSecretChanges:      func(p *Policy) { p.KeepPendingSecret = false },
	FaultEnrollNoPassword:   func(p *Policy) { p.EnrollChecksPassword = false },
	FaultRecoveryNotCounted: func(p *Policy) { p.WrongRecoveryCounts = false },
	FaultRevokeKeepsSecret:  func(p *Policy) { p.RevokeEndsSecret = false },
	FaultRecoveryReusable:   func(p *Policy) { p.RecoveryOnce = false },
	FaultUnenrolledLogin:    func(p *Policy) { p.PlusNeedsEnrollment = false },
	FaultSameSecret: func(p *Policy) {
		p.NewSecret = func(string) string { return "KAPUKAPUKAPUKAPUKAPUKAPUKAPUKAPU" }
	},
	FaultReenrollSameSecret: func(p *Policy) {
		p.NewSecret = func(previous string) string { return previous }
	},
}

// AccountFaults lists the faults this package knows, in a stable order.
var AccountFaults = slices.Sorted(maps.Keys(policyChange))

// Apply returns p changed by each fault of fs that this package knows;
// the others (the HTTP layer's) leave it alone.
func (fs Faults) Apply(p Policy) Policy {
	for _, f := range fs {
		if change, ok := policyChange[f]; ok {
			change(&p)
		}
	}
	return p
}

// Faults is a set of faults; the zero value has none.
type Faults []Fault

// Has tells whether f is among the faults.
func (fs Faults) Has(f Fault) bool { return slices.Contains(fs, f) }

// String lists the faults, comma-separated.
func (fs Faults) String() string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

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
