#!/usr/bin/env bash
# Times `cafe up` from start to ready (API server ready, every node Ready,
# CRDs installed, controllers' caches in sync), on a fresh data directory and
# on a restart of the same one. Prints each run and the mean against the
# 10-second target. The binaries must be built (make tools build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

one() { # data-dir → seconds to ready
	local log="${work}/up.log" pid secs=""
	bin/cafe up --data-dir "$1" --port 0 >"${log}" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do
		if secs=$(sed -n 's/^CAFE is up in \([0-9.]*\)s.*/\1/p' "${log}") && [[ -n "${secs}" ]]; then break; fi
		if ! kill -0 "${pid}" 2>/dev/null; then cat "${log}"; return 1; fi
		sleep 0.1
	done
	kill -INT "${pid}"
	wait "${pid}" || true
	echo "${secs}"
}

fresh=() restart=()
for i in $(seq 1 "${RUNS}"); do
	fresh+=("$(one "${work}/data-${i}")")
	restart+=("$(one "${work}/data-${i}")")
done
mean() { printf '%s\n' "$@" | awk '{s+=$1} END {printf "%.2f", s/NR}'; }
echo "cafe up to ready, ${RUNS} runs (3 units × 2 nodes), target 10 s"
echo "  fresh data directory:   ${fresh[*]} s  mean $(mean "${fresh[@]}") s  ($(awk -v m="$(mean "${fresh[@]}")" 'BEGIN{printf "%.2f", m/10}')× the target)"
echo "  restart on same dir:    ${restart[*]} s  mean $(mean "${restart[@]}") s  ($(awk -v m="$(mean "${restart[@]}")" 'BEGIN{printf "%.2f", m/10}')× the target)"
