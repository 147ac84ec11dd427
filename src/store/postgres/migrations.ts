/**
 * The PostgreSQL schema, as numbered plain-SQL migrations applied in order at start (under an
 * advisory lock, each in its own transaction, recorded in schema_migrations). Never edit one that
 * has shipped: add the next.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'requests, runs, numbering, audit',
    sql: `
      CREATE TABLE requests (
        id             text PRIMARY KEY,
        seq            bigserial NOT NULL,  -- insertion order, which listings keep
        version        integer NOT NULL,
        state          text NOT NULL,
        requester      text NOT NULL,
        source_view_id text,
        data           jsonb NOT NULL,
        created_at     timestamptz NOT NULL,
        updated_at     timestamptz NOT NULL
      );
      -- A modal submission delivered twice (or to two replicas) files one request.
      CREATE UNIQUE INDEX requests_source_view_id ON requests (source_view_id) WHERE source_view_id IS NOT NULL;
      CREATE INDEX requests_state ON requests (state);
      CREATE INDEX requests_requester ON requests (requester);

      CREATE TABLE runs (
        id            text PRIMARY KEY,
        seq           bigserial NOT NULL,
        version       integer NOT NULL,
        state         text NOT NULL,
        request_id    text,
        data          jsonb NOT NULL,
        updated_at    timestamptz NOT NULL
      );
      CREATE INDEX runs_state ON runs (state);
      CREATE INDEX runs_request_id ON runs (request_id);

      -- REQ-n numbers.
      CREATE SEQUENCE vmbot_seq_request;

      -- The audit log: one hash chain, appended in order.
      CREATE TABLE audit (
        seq    bigint PRIMARY KEY,
        hash   text NOT NULL,
        record jsonb NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'run claims',
    sql: `
      -- The process executing a run holds it until claimed_until (renewed while it works); a run
      -- whose claim ran out is continued by another process.
      ALTER TABLE runs ADD COLUMN claimed_by text, ADD COLUMN claimed_until timestamptz;
      CREATE INDEX runs_unfinished ON runs (claimed_until) WHERE state IN ('pending', 'running', 'cleaning_up');
    `,
  },
  {
    version: 3,
    name: 'vm records',
    sql: `
      -- The VMs the bot made, apart from the runs that made them (one run, one VM: the id is the
      -- run's); owner and state change with day-2 actions, so their columns follow each update.
      CREATE TABLE vms (
        id         text PRIMARY KEY,
        seq        bigserial NOT NULL,
        version    integer NOT NULL,
        state      text NOT NULL,
        owner      text NOT NULL,
        run_id     text NOT NULL,
        data       jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX vms_state ON vms (state);
      CREATE INDEX vms_owner ON vms (owner);
      CREATE INDEX vms_run_id ON vms (run_id);
    `,
  },
];
