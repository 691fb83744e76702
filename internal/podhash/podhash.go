// Package podhash computes the pod-template hash and the canary step hash
// byte for byte as Argo Rollouts v1.9 does, so that a cluster migrated from
// Argo keeps its ReplicaSets (named and labelled by the hash) and its
// status.currentStepHash instead of redeploying or restarting the steps.
package podhash

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"hash/fnv"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/dump"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// PodTemplateHash returns the rollouts-pod-template-hash value for template.
// A non-nil collisionCount (status.collisionCount) is mixed in, as Argo does
// to move off a name that is taken; nil and 0 give different hashes. It
// never panics (see roundTrip).
func PodTemplateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := normalizedHash(template)
	if collisionCount != nil {
		// Argo writes the count as a little-endian uint32 into an 8-byte
		// buffer, so four zero bytes follow it.
		var buf [8]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		_, _ = h.Write(buf[:])
	}
	return encode(h.Sum32())
}

// LegacyPodTemplateHash is the hash Kubernetes gives a Deployment's
// ReplicaSets (pod-template-hash), which Argo Rollouts used before v0.10 and
// still accepts when looking for a Rollout's current ReplicaSet: a hash of
// the template's Go value dump rather than its JSON. Matching it too means a
// Rollout whose ReplicaSets were created that way is not redeployed.
func LegacyPodTemplateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	_, _ = fmt.Fprintf(h, "%v", dump.ForHash(*template))
	if collisionCount != nil {
		var buf [8]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		_, _ = h.Write(buf[:])
	}
	return encode(h.Sum32())
}

// StepHash returns the status.currentStepHash value for a canary step list.
// Empty and nil lists hash alike: Argo hashes after a JSON round trip of the
// Rollout, in which `steps: []` is dropped (omitempty) and comes back nil.
// It never panics (see roundTrip).
func StepHash(steps []v1alpha1.CanaryStep) string {
	if len(steps) == 0 {
		steps = nil
	}
	return encode(normalizedHash(&steps).Sum32())
}

// RolloutStepHash returns the step hash Argo stores for ro: StepHash of the
// canary steps, or "" when the Rollout is not a canary (as Argo does, a
// blue-green strategy wins when both are set).
func RolloutStepHash(ro *v1alpha1.Rollout) string {
	strategy := ro.Spec.Strategy
	if strategy.BlueGreen != nil || strategy.Canary == nil {
		return ""
	}
	return StepHash(strategy.Canary.Steps)
}

// ReplicaSetName returns the name Argo gives the ReplicaSet of a template
// hash. Argo does not truncate it, so neither do we: a name that is too long
// fails on create in both.
func ReplicaSetName(rolloutName, hash string) string {
	return rolloutName + "-" + hash
}

// encode turns the FNV sum into Argo's form: its decimal digits mapped onto
// the alphabet Kubernetes uses for generated names.
func encode(sum uint32) string {
	return rand.SafeEncodeString(strconv.FormatUint(uint64(sum), 10))
}

// roundTrip returns data, the encoding of a *T, after a decode/encode
// round trip, which is what Argo hashes: its controller round-trips every
// Rollout through JSON before hashing. Round-tripping just the hashed field is equivalent, and unlike a
// whole-Rollout round trip it keeps a template resolved from workloadRef
// (RolloutSpec.MarshalJSON leaves those out).
//
// A value that does not survive the round trip has no Argo hash to match,
// and hashing runs on every reconcile, so it must not panic: a value that
// encodes but does not decode again (metav1.Time writes a year outside
// 0000-9999, such as "0000-01-01T00:30:00+01:00" in UTC, but cannot parse
// it back) hashes its first encoding, and one that does not encode at all
// (a plugin config that is not JSON, set in memory) hashes its Go dump.
// Both are deterministic, so the hash stays put across reconciles.
func roundTrip[T any](data []byte) []byte {
	var fresh T
	if err := json.Unmarshal(data, &fresh); err != nil {
		return data
	}
	if again, err := json.Marshal(&fresh); err == nil {
		return again
	}
	return data
}

// normalizedHash is an FNV-1a hash that has read v's encoding after the
// round trip (roundTrip); a value that does not encode is hashed by its Go
// dump.
//
// Hashing runs on every reconcile of every Rollout and the round trip is
// two thirds of its cost (the hashes were 5% of the controller's CPU in a
// bench/scale wave, 2026-12-06), so the hash state after the round trip is
// remembered under a digest of the first encoding and the type: the same
// encoding of the same type always round-trips to the same bytes.
func normalizedHash[T any](v *T) hash.Hash32 {
	h := fnv.New32a()
	data, err := json.Marshal(v)
	if err != nil {
		_, _ = h.Write([]byte(dump.ForHash(v)))
		return h
	}
	d := sha256.New()
	_, _ = fmt.Fprintf(d, "%T\x00", v)
	_, _ = d.Write(data)
	var key [sha256.Size]byte
	d.Sum(key[:0])
	if state, ok := hashes.get(key); ok {
		if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state) == nil {
			return h
		}
		h.Reset()
	}
	_, _ = h.Write(roundTrip[T](data))
	if state, err := h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
		hashes.put(key, state)
	}
	return h
}

// hashMemo maps digests of first encodings to hash states. It is emptied
// when full, which bounds it (4,096 entries, about 300 KB) without the
// bookkeeping of an LRU: a template that falls out is hashed again once.
// It is not sized ahead: a controller with a few hundred templates keeps a
// few hundred entries, not room for 4,096 (half a MiB of live heap at
// N=200, 2026-12-07).
type hashMemo struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte][]byte
}

const hashMemoSize = 4096

var hashes hashMemo

func (c *hashMemo) get(key [sha256.Size]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	state, ok := c.m[key]
	return state, ok
}

func (c *hashMemo) put(key [sha256.Size]byte, state []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= hashMemoSize {
		c.m = make(map[[sha256.Size]byte][]byte)
	}
	c.m[key] = state
}
