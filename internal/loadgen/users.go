package loadgen

import (
	"fmt"
	"strconv"
)

// UserID is the ID of user i among shards shards. The router derives the
// shard from the last digits of the X-Cafe-Uid header (ShardMap key
// digits.count, 2 for 100 shards), so the ID is a serial number followed by
// the shard in as many digits as shards-1 has: with 100 shards user 37 is
// "100037" (serial 1000, shard 37) and user 137 is "100137". Users i and
// i+shards share a shard; the first shards users cover every shard once.
func UserID(i, shards int) string {
	width := len(strconv.Itoa(shards - 1))
	return fmt.Sprintf("%d%0*d", firstSerial+i/shards, width, i%shards)
}

// firstSerial keeps every ID the same length for the first 9000 rounds of
// shards, and free of leading zeros.
const firstSerial = 1000

// ShardOf is the shard the router derives from a UserID.
func ShardOf(userID string, shards int) int {
	width := len(strconv.Itoa(shards - 1))
	shard, _ := strconv.Atoi(userID[len(userID)-width:])
	return shard
}
