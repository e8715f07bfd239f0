#!/usr/bin/env bash
# Every benchmark of the project, each printing its figures as ratios against
# a baseline measured in the same run. Results go to docs/benchmarks.md by
# hand, with the command that made them. Run on a quiet machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "=== cafe up (hack/bench-up.sh)"
bash hack/bench-up.sh
echo
for qps in 20 200; do
	echo "=== releases (go run ./test/bench/release -pods ${PODS:-1000} -qps $qps)"
	go run ./test/bench/release -pods "${PODS:-1000}" -qps "$qps"
	echo
done
echo "=== the API server's CPU per pod write (go run ./test/bench/writecost)"
go run ./test/bench/writecost
if [[ -f hack/bench-router.sh ]]; then
	echo
	echo "=== router (hack/bench-router.sh)"
	bash hack/bench-router.sh
fi
echo
echo "=== release under load on live nodes (go run ./test/bench/demo; root)"
go run ./test/bench/demo
