#!/usr/bin/env bash
# A real crawler over a local fixture (a JSON dump of GitLab groups, projects and issues) that reports with `progress`:
# stage changes, discovery, updates from parallel workers, checkpoint resume, errors and completion.
#
#   export PROGRESS_API_ENDPOINT=http://127.0.0.1:8787/api/tasks PROGRESS_TASK_ID=crawl-1
#   examples/crawl.sh                        # or: progress wrap -- examples/crawl.sh
#
# Settings: $1 or CRAWL_FIXTURE (the JSON file), CRAWL_WORKERS (parallel workers, default 4),
# CRAWL_BATCH (projects per checkpoint, default 3), CRAWL_FAIL_AT (a project id at which to crash, to try resuming),
# PROGRESS_BIN (how to run progress, e.g. "node ./bin/progress.js"; default: progress on PATH). Needs bash, jq, xargs.
set -euo pipefail

FIXTURE=${1:-${CRAWL_FIXTURE:-$(dirname "$0")/fixtures/gitlab.json}}
WORKERS=${CRAWL_WORKERS:-4}
BATCH=${CRAWL_BATCH:-3}
export FIXTURE CRAWL_FAIL_AT=${CRAWL_FAIL_AT:-}

if [[ -n "${PROGRESS_BIN:-}" ]]; then
  # Word splitting is wanted here: PROGRESS_BIN may be "node /path/to/bin/progress.js".
  progress() { $PROGRESS_BIN "$@"; }
  export -f progress
  export PROGRESS_BIN
fi

# 1. Discovery: every group and project, as JSON lines on stdin.
progress stage discovery --operation discovery --message "Reading $(basename "$FIXTURE")"
jq -c '.groups[] | {type: "group", id, name, full_path, web_url, description}' "$FIXTURE" | progress discover
jq -c '.projects[] | {type: "project", id, name, full_path: .path_with_namespace, web_url, description}' "$FIXTURE" | progress discover

# 2. Resume where the last run stopped: the checkpoint is the last project of the last finished batch.
since=$(progress checkpoint --show)
progress stage data_collection --operation data_collection --message "Crawling issues${since:+ after project $since}"

# One project, run by a worker: fetch its issues, report this worker's own increment.
crawl_project() {
  local project=$1 archived issues
  if [[ "$project" == "${CRAWL_FAIL_AT:-}" ]]; then
    echo "crawl: project $project: connection reset by peer" >&2
    exit 1
  fi
  archived=$(jq --argjson p "$project" '.projects[] | select(.id == $p) | .archived' "$FIXTURE")
  if [[ "$archived" == true ]]; then
    # Not fatal: report it and go on.
    progress error "project $project is archived; its issues are skipped" --type ArchivedProject --last-id "$project" \
      --context "{\"project\":$project}"
    return 0
  fi
  issues=$(jq --argjson p "$project" '[.issues[] | select(.project_id == $p)] | length' "$FIXTURE")
  progress update --items issues="$issues" --type issues --last-id "$project" --message "project $project: $issues issues"
}
export -f crawl_project

mapfile -t projects < <(jq -r --argjson since "${since:-0}" '.projects[] | select(.id > $since) | .id' "$FIXTURE" | sort -n)
for ((i = 0; i < ${#projects[@]}; i += BATCH)); do
  batch=("${projects[@]:i:BATCH}")
  printf '%s\n' "${batch[@]}" | xargs -P "$WORKERS" -n 1 bash -c 'crawl_project "$1"' crawl
  # The whole batch is done: a rerun starts after it.
  progress checkpoint "${batch[-1]}" --data "{\"batch\":$((i / BATCH))}"
done

# 3. Done. Under `progress wrap`, wrap itself reports the completion (with the run's final counts).
if [[ -z "${PROGRESS_FD:-}" ]]; then
  progress complete --summary "crawled ${#projects[@]} projects${since:+ after project $since}"
fi
