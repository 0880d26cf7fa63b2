// The grammar of every command, declared once: the command-line parser, the in-band parser and --help all read it.

export interface OptionSpec {
  /** Long name without dashes, e.g. `items`. */
  name: string;
  /** Placeholder of the value, e.g. `TYPE=N`; absent for a switch. */
  value?: string;
  multiple?: boolean;
  description: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Operands as shown in usage, e.g. `NAME` or `[FILE]`. */
  operands: string;
  options: OptionSpec[];
  examples: string[];
  /** Whether the command reads the task's configuration (all but a few do). */
  hidden?: boolean;
}

/** Accepted by every command. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'task', value: 'ID', description: 'task id (else PROGRESS_TASK_ID, else the current task of "progress init")' },
  { name: 'endpoint', value: 'URL', description: 'API base URL (else PROGRESS_API_ENDPOINT, else the state file)' },
  { name: 'state-dir', value: 'DIR', description: 'state directory (else PROGRESS_STATE_DIR, else $XDG_STATE_HOME/progress)' },
  { name: 'quiet', description: 'silence notices' },
];

const operation = { name: 'operation', value: 'OP', description: 'discovery, branch_crawling, data_collection or finalization' };

export const COMMANDS: Record<string, CommandSpec> = {
  update: {
    name: 'update',
    summary: 'record progress: per-type increments, counts, last id (coalesced with other updates)',
    operands: '',
    options: [
      { name: 'items', value: 'TYPE=N', multiple: true, description: 'add N to the total of TYPE (repeatable)' },
      { name: 'processed', value: 'N', description: 'items processed so far' },
      { name: 'total', value: 'N', description: 'items in all, when known' },
      { name: 'type', value: 'T', description: 'current data type' },
      { name: 'last-id', value: 'ID', description: 'id of the last item processed' },
      { name: 'stage', value: 'S', description: 'current stage' },
      operation,
      { name: 'message', value: 'M', description: 'a message to show' },
      { name: 'no-timeline', description: 'do not add a progress_update timeline event' },
    ],
    examples: ['progress update --items issues=10 --last-id 42', 'progress update --items issues=3 --items merge_requests=1 --processed 120 --total 900'],
  },
  stage: {
    name: 'stage',
    summary: 'change stage; the timeline records the real previous stage',
    operands: 'NAME',
    options: [operation, { name: 'message', value: 'M', description: 'message (default "Transitioning to NAME")' }],
    examples: ['progress stage discovery --operation discovery', 'progress stage data_collection --operation data_collection'],
  },
  error: {
    name: 'error',
    summary: 'report an error (the crawl goes on)',
    operands: 'MESSAGE...',
    options: [
      { name: 'type', value: 'NAME', description: 'error type (default "Error")' },
      { name: 'stage', value: 'S', description: 'stage where it happened' },
      { name: 'last-id', value: 'ID', description: 'id of the last item processed' },
      operation,
      { name: 'context', value: 'JSON', description: 'extra context, as JSON' },
    ],
    examples: ['progress error "GitLab returned 502 for project 17" --type HttpError --last-id 17 --context \'{"status":502}\''],
  },
  checkpoint: {
    name: 'checkpoint',
    summary: 'save the last processed id so a crawl can resume; --show prints it',
    operands: '[ID]',
    options: [
      { name: 'data', value: 'JSON', description: 'resume data kept locally with the checkpoint' },
      { name: 'show', description: 'print the last checkpoint id (nothing if none) and exit' },
    ],
    examples: ['progress checkpoint 4711', 'since=$(progress checkpoint --show)'],
  },
  complete: {
    name: 'complete',
    summary: 'mark the run completed, then wait until everything pending is delivered',
    operands: '',
    options: [
      { name: 'summary', value: 'S', description: 'summary message' },
      { name: 'processed', value: 'N', description: 'items processed in all' },
      { name: 'timeout', value: 'SECONDS', description: 'longest wait for delivery (default 30); exit 4 if still pending' },
    ],
    examples: ['progress complete --summary "crawled 12 groups, 340 projects"'],
  },
  discover: {
    name: 'discover',
    summary: 'report discovered groups and projects, read as JSON lines or a JSON array',
    operands: '[FILE]',
    options: [{ name: 'discovered-by', value: 'NAME', description: 'who discovered them (default: this host name)' }],
    examples: [
      'progress discover areas.jsonl',
      'echo \'{"type":"group","id":12,"name":"infra","full_path":"infra","web_url":"https://gitlab.example.com/infra"}\' | progress discover',
    ],
  },
  status: {
    name: 'status',
    summary: "show the task's local state and delivery",
    operands: '',
    options: [{ name: 'json', description: 'print JSON on stdout' }],
    examples: ['progress status', 'progress status --json | jq .totals'],
  },
  flush: {
    name: 'flush',
    summary: 'deliver everything pending now, with the full retry policy',
    operands: '',
    options: [
      { name: 'timeout', value: 'SECONDS', description: 'longest wait (default 30); exit 4 if still pending' },
      { name: 'retry-dead', description: 'first put the dead letters back in the outbox' },
    ],
    examples: ['progress flush', 'progress flush --retry-dead --timeout 60'],
  },
  reset: {
    name: 'reset',
    summary: 'start a new run: totals, stage and timer cleared (pending events are still delivered)',
    operands: '',
    options: [],
    examples: ['progress reset'],
  },
};

/** Commands parsed without commander on the hot path. */
export const FAST_COMMANDS = new Set(Object.keys(COMMANDS));
/** Commands accepted on wrap's in-band channel. */
export const IN_BAND_COMMANDS = new Set(['update', 'stage', 'error', 'checkpoint']);
