package loadgen

import "testing"

func TestUserIDEndsWithItsShard(t *testing.T) {
	tests := []struct {
		i, shards int
		want      string
		shard     int
	}{
		{37, 100, "100037", 37},
		{137, 100, "100137", 37},
		{0, 100, "100000", 0},
		{99, 100, "100099", 99},
		{12, 10, "10012", 2},
		{5, 1000, "1000005", 5},
		{3, 1, "10030", 0},
	}
	for _, tt := range tests {
		got := UserID(tt.i, tt.shards)
		if got != tt.want || ShardOf(got, tt.shards) != tt.shard {
			t.Errorf("UserID(%d, %d) = %s (shard %d), want %s (shard %d)", tt.i, tt.shards, got, ShardOf(got, tt.shards), tt.want, tt.shard)
		}
	}
}

func TestFirstUsersCoverEveryShard(t *testing.T) {
	seen := map[int]bool{}
	for i := range 100 {
		seen[ShardOf(UserID(i, 100), 100)] = true
	}
	if len(seen) != 100 {
		t.Errorf("the first 100 users cover %d of 100 shards", len(seen))
	}
}

func TestTransferIDEndsWithTheSender(t *testing.T) {
	id := transferID("load-x", 7, UserID(42, 100))
	if id != "load-x-7-100042" || ShardOf(id, 100) != 42 {
		t.Errorf("transfer ID %s", id)
	}
}
