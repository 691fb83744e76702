// Package services decides when a Service a Rollout manages (canary/stable,
// later active/preview) is pointed at a ReplicaSet's pod-template hash.
package services

// Target is a ReplicaSet a Service should select.
type Target struct {
	Hash      string
	Replicas  int32 // spec.replicas
	Available int32
}

// ShouldSwitch reports whether a Service whose selector currently pins
// currentHash should be switched to target now. A Service the Rollout
// already manages moves as soon as one target pod is available, so traffic
// never goes to a selector with no endpoints; a Service being adopted (no
// managed-by annotation yet) waits until the target is fully available,
// since it may be serving production traffic from elsewhere.
func ShouldSwitch(currentHash string, managed bool, target Target) bool {
	if target.Hash == "" || currentHash == target.Hash {
		return false
	}
	if !managed {
		return target.Replicas > 0 && target.Available >= target.Replicas
	}
	return target.Available > 0
}
