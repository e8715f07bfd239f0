package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// state is what a data directory remembers between runs: things that must
// not change while etcd keeps objects that refer to them.
type state struct {
	// PodRangeSlot is the slot of the pod range the nodes' podCIDRs come from.
	PodRangeSlot int `json:"podRangeSlot"`
	// EtcdClientPort and EtcdPeerPort are etcd's listen ports.
	EtcdClientPort int `json:"etcdClientPort"`
	EtcdPeerPort   int `json:"etcdPeerPort"`
}

func statePath(dataDir string) string { return filepath.Join(dataDir, "state.json") }

func loadState(dataDir string) (state, error) {
	s := state{PodRangeSlot: -1}
	data, err := os.ReadFile(statePath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s is corrupt (%v): remove the data directory to start afresh", statePath(dataDir), err)
	}
	return s, nil
}

func saveState(dataDir string, s state) error {
	data, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(statePath(dataDir), data, 0o644)
}
