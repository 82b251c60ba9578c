"""SQL for a database shaped like LiteLLM's Prisma schema, with recent spend logs.

"LiteLLM_SpendLogs" gets a few thousand rows whose "startTime" runs up to a few
seconds before the load, so restore tests can measure how recent the newest
row of a restored copy is (the recovery point).
"""


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def setup_sql(owner: str, owner_password: str, restore_user: str, restore_password: str, database: str) -> str:
    return f"""
CREATE ROLE {owner} LOGIN PASSWORD {_quote_literal(owner_password)};
CREATE ROLE {restore_user} LOGIN PASSWORD {_quote_literal(restore_password)};
CREATE DATABASE {database} OWNER {owner};
"""


def schema_sql(owner: str) -> str:
    return f"""
SET ROLE {owner};

CREATE TABLE "LiteLLM_BudgetTable" (
    budget_id TEXT PRIMARY KEY,
    max_budget DOUBLE PRECISION,
    soft_budget DOUBLE PRECISION,
    budget_duration TEXT,
    budget_reset_at TIMESTAMP(3),
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by TEXT NOT NULL,
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by TEXT NOT NULL
);

CREATE TABLE "LiteLLM_TeamTable" (
    team_id TEXT PRIMARY KEY,
    team_alias TEXT,
    organization_id TEXT,
    admins TEXT[] NOT NULL DEFAULT '{{}}',
    members TEXT[] NOT NULL DEFAULT '{{}}',
    metadata JSONB NOT NULL DEFAULT '{{}}',
    max_budget DOUBLE PRECISION,
    spend DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    models TEXT[] NOT NULL DEFAULT '{{}}',
    blocked BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE "LiteLLM_UserTable" (
    user_id TEXT PRIMARY KEY,
    user_alias TEXT,
    team_id TEXT REFERENCES "LiteLLM_TeamTable"(team_id),
    user_email TEXT,
    user_role TEXT,
    teams TEXT[] NOT NULL DEFAULT '{{}}',
    max_budget DOUBLE PRECISION,
    spend DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    models TEXT[] NOT NULL DEFAULT '{{}}',
    metadata JSONB NOT NULL DEFAULT '{{}}',
    created_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE "LiteLLM_VerificationToken" (
    token TEXT PRIMARY KEY,
    key_name TEXT,
    key_alias TEXT,
    spend DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    expires TIMESTAMP(3),
    models TEXT[] NOT NULL DEFAULT '{{}}',
    user_id TEXT REFERENCES "LiteLLM_UserTable"(user_id),
    team_id TEXT REFERENCES "LiteLLM_TeamTable"(team_id),
    metadata JSONB NOT NULL DEFAULT '{{}}',
    max_budget DOUBLE PRECISION,
    blocked BOOLEAN,
    created_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE "LiteLLM_SpendLogs" (
    request_id TEXT PRIMARY KEY,
    call_type TEXT NOT NULL,
    api_key TEXT NOT NULL DEFAULT '',
    spend DOUBLE PRECISION NOT NULL DEFAULT 0.0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    "startTime" TIMESTAMP(3) NOT NULL,
    "endTime" TIMESTAMP(3) NOT NULL,
    "completionStartTime" TIMESTAMP(3),
    model TEXT NOT NULL DEFAULT '',
    model_group TEXT DEFAULT '',
    api_base TEXT DEFAULT '',
    "user" TEXT DEFAULT '',
    metadata JSONB DEFAULT '{{}}',
    team_id TEXT,
    end_user TEXT,
    status TEXT
);
CREATE INDEX "LiteLLM_SpendLogs_startTime_idx" ON "LiteLLM_SpendLogs"("startTime");

CREATE TABLE "LiteLLM_Config" (
    param_name TEXT PRIMARY KEY,
    param_value JSONB
);

INSERT INTO "LiteLLM_BudgetTable" (budget_id, max_budget, budget_duration, created_by, updated_by)
VALUES ('budget-default', 500.0, '30d', 'admin', 'admin');

INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, models, max_budget, spend)
SELECT 'team-' || n, 'team ' || n, ARRAY['gpt-4o', 'claude-sonnet-4'], 1000.0, n * 12.5
FROM generate_series(1, 8) AS n;

INSERT INTO "LiteLLM_UserTable" (user_id, user_alias, team_id, user_email, user_role, spend)
SELECT 'user-' || n, 'user ' || n, 'team-' || (1 + n % 8), 'user' || n || '@example.gov.uk',
       CASE WHEN n = 1 THEN 'proxy_admin' ELSE 'internal_user' END, n * 1.75
FROM generate_series(1, 60) AS n;

INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, user_id, team_id, spend, expires)
SELECT md5('key-' || n), 'sk-...' || lpad(n::text, 4, '0'), 'key ' || n, 'user-' || (1 + n % 60),
       'team-' || (1 + n % 8), n * 0.42, now() + interval '90 days'
FROM generate_series(1, 120) AS n;

-- 3000 requests, one every 2 minutes going back about 4 days; the newest starts 3 seconds ago.
INSERT INTO "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens,
                                 completion_tokens, "startTime", "endTime", "completionStartTime", model,
                                 model_group, "user", team_id, status)
SELECT 'chatcmpl-' || md5(n::text), 'acompletion', md5('key-' || (1 + n % 120)), (n % 97) * 0.0004,
       200 + n % 1800, 150 + n % 1200, 50 + n % 600,
       (now() AT TIME ZONE 'UTC') - interval '3 seconds' - (n * interval '2 minutes'),
       (now() AT TIME ZONE 'UTC') - interval '1 second' - (n * interval '2 minutes'),
       (now() AT TIME ZONE 'UTC') - interval '2 seconds' - (n * interval '2 minutes'),
       CASE n % 3 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'claude-sonnet-4' ELSE 'gemini-2.5-pro' END,
       'default', 'user-' || (1 + n % 60), 'team-' || (1 + n % 8), 'success'
FROM generate_series(0, 2999) AS n;

INSERT INTO "LiteLLM_Config" (param_name, param_value)
VALUES ('general_settings', '{{"store_model_in_db": true}}');

RESET ROLE;
GRANT CONNECT ON DATABASE litellm TO drctl_restore;
GRANT USAGE ON SCHEMA public TO drctl_restore;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO drctl_restore;
"""
