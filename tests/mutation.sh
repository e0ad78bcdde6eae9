#!/usr/bin/env bash
# Mutation testing of the rules and engine modules with mutmut; the configuration is [tool.mutmut] in
# pyproject.toml and the surviving mutants are explained in tests/MUTATION.md.
#
#   pip install -e '.[test,mutation]'
#   tests/mutation.sh      # 30 to 35 minutes on 2 cores; MUTATION_JOBS=N sets the number of parallel workers
#
# It starts afresh (mutants/ is removed first), lists every mutant that was not killed, and ends with the
# counts. `mutmut show NAME` prints one mutant's diff; `mutmut browse` explores them.
set -euo pipefail
cd "$(dirname "$0")/.."
export HYPOTHESIS_PROFILE=mutation
rm -rf mutants
mutmut run --max-children "${MUTATION_JOBS:-2}" >/dev/null
mutmut results --all true >mutants/results.txt
grep -v ': killed$' mutants/results.txt || true
awk -F': ' '
    { count[$NF]++; total++ }
    END {
        printf "%d mutants: %d killed, %d survived, %d timed out, %d not covered; %.1f%% killed\n",
            total, count["killed"], count["survived"], count["timeout"], count["no tests"],
            100 * count["killed"] / total
    }' mutants/results.txt
