// Package shard turns a request into a shard number and a shard number into
// the unit that serves it. Everything here is pure and deterministic so the
// router, the controller and the VM config loader share one definition of
// "who owns this user".
package shard

// MaxShards bounds the shard count so owner tables stay small (two bytes per
// shard) and match the API's validation.
const MaxShards = 10000

// MaxDigits bounds digits.count so the selected digits always fit an int.
const MaxDigits = 9

// MaxKeyLength bounds a key value; user IDs are short, and a bound keeps
// hashing and scanning cheap for hostile input.
const MaxKeyLength = 256

// DefaultKeyHeader is the header a Header key reads when no name is given.
const DefaultKeyHeader = "X-Cafe-Uid"

// KeySource says where in the request the shard key lives.
type KeySource string

// The places a shard key can be read from.
const (
	KeyFromHeader      KeySource = "Header"
	KeyFromCookie      KeySource = "Cookie"
	KeyFromQuery       KeySource = "Query"
	KeyFromPathSegment KeySource = "PathSegment"
)

// Digits selects Count decimal digits that end Offset characters before the
// end of the key: offset 0, count 2 reads the last two digits of "U123456"
// ("56"). The shard is the digits' value modulo the shard count.
type Digits struct {
	Offset int
	Count  int
}

// KeySpec says how to find a request's shard key and turn it into a shard.
// Exactly one of Digits and Hash applies.
type KeySpec struct {
	Source KeySource
	// Name is the header, cookie or query parameter name; a Header key
	// with no name reads DefaultKeyHeader.
	Name string
	// PathSegment is the zero-based index of the path segment holding the
	// key, for Source PathSegment: 1 reads "42" from "/users/42/cards".
	PathSegment int
	Digits      *Digits
	// Hash maps the key with 32-bit FNV-1a modulo the shard count, for keys
	// that carry no shard digits of their own.
	Hash bool
}

// MissingKeyAction says what to do with a request that has no shard key.
type MissingKeyAction string

// The answers to a request without a shard key.
const (
	RejectMissingKey         MissingKeyAction = "Reject"
	DefaultUnitForMissingKey MissingKeyAction = "DefaultUnit"
)

// MissingKeyPolicy applies only to absent keys: a malformed key is always
// rejected, because routing it anywhere could split one user's data.
type MissingKeyPolicy struct {
	Action MissingKeyAction
	// Unit receives keyless requests when Action is DefaultUnit; failover
	// applies to it like to any other unit.
	Unit string
}

// UnitState is the health of a unit as the control plane sees it.
type UnitState string

// Unit states. Draining keeps a unit serving only when none of its failover
// targets can; Down never serves.
const (
	UnitActive   UnitState = "Active"
	UnitDraining UnitState = "Draining"
	UnitDown     UnitState = "Down"
)

// Range is an inclusive range of shards.
type Range struct {
	From int
	To   int
}

// UnitSpec declares one unit: the shards it owns while healthy and where
// they go when it is not.
type UnitSpec struct {
	Name   string
	Ranges []Range
	// State defaults to Active when empty.
	State      UnitState
	FailoverTo string
	// RouterAddress is host:port of the unit's router, the target when a
	// request reaches another unit's router.
	RouterAddress string
}

// MapSpec is a complete shard map at one epoch.
type MapSpec struct {
	// Epoch increases with every change of the effective owners, so routers
	// can tell which of two maps is newer.
	Epoch        int64
	Shards       int
	Key          KeySpec
	OnMissingKey MissingKeyPolicy
	Units        []UnitSpec
}
