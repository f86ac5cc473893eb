/**
 * The environment variables the config reads and the config path each sets (src/config.ts applies
 * them). A module of its own, without TypeBox, so that tools and tests that only need the names
 * (which variables a child process must not inherit) load nothing else.
 */
/** [variable, config path, kind]. */
export const ENV: Array<[string, string[], 'int' | 'string' | 'bool' | 'list']> = [
  ['HOST', ['host'], 'string'],
  ['PORT', ['port'], 'int'],
  ['LOG_LEVEL', ['logLevel'], 'string'],
  ['WORKERS', ['workers'], 'int'],
  ['MAX_QUEUE', ['maxQueue'], 'int'],
  ['MAX_BATCH', ['maxBatch'], 'int'],
  ['MAX_BATCH_RESPONSE_BYTES', ['maxBatchResponseBytes'], 'int'],
  ['BODY_LIMIT_BYTES', ['bodyLimitBytes'], 'int'],
  ['HTTP_HEADERS_TIMEOUT_MS', ['http', 'headersTimeoutMs'], 'int'],
  ['HTTP_REQUEST_TIMEOUT_MS', ['http', 'requestTimeoutMs'], 'int'],
  ['HTTP_KEEP_ALIVE_TIMEOUT_MS', ['http', 'keepAliveTimeoutMs'], 'int'],
  ['HTTP_MAX_CONNECTIONS', ['http', 'maxConnections'], 'int'],
  ['STORE_DIR', ['store', 'dir'], 'string'],
  ['STORE_PERSIST_PREPARED', ['store', 'persistPrepared'], 'bool'],
  ['STORE_SHARED_URL', ['store', 'shared'], 'string'],
  ['STORE_SHARED_TIMEOUT_MS', ['store', 'sharedTimeoutMs'], 'int'],
  ['FUEL_DEFAULT', ['limits', 'defaults', 'fuel'], 'int'],
  ['FUEL_MAX', ['limits', 'max', 'fuel'], 'int'],
  ['MEMORY_BYTES_DEFAULT', ['limits', 'defaults', 'memoryBytes'], 'int'],
  ['MEMORY_BYTES_MAX', ['limits', 'max', 'memoryBytes'], 'int'],
  ['TIMEOUT_MS_DEFAULT', ['limits', 'defaults', 'timeoutMs'], 'int'],
  ['TIMEOUT_MS_MAX', ['limits', 'max', 'timeoutMs'], 'int'],
  ['MAX_STACK_BYTES', ['engine', 'maxStackBytes'], 'int'],
  ['DETERMINISTIC', ['policy', 'deterministic'], 'bool'],
  ['POLICY_FLOATS', ['policy', 'floats'], 'string'],
  ['SEED_EXAMPLES', ['seedExamples'], 'bool'],
  ['OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', ['overload', 'maxEventLoopDelayMs'], 'int'],
  ['OVERLOAD_MAX_RSS_BYTES', ['overload', 'maxRssBytes'], 'int'],
  ['CHECK_MEMORY_BUDGET', ['overload', 'checkMemoryBudget'], 'bool'],
  ['AUTH_TOKEN', ['auth', 'token'], 'string'],
  ['METRICS_AUTH', ['auth', 'metrics'], 'string'],
  ['IROHA_CALLBACK_ORIGINS', ['iroha', 'callbackOrigins'], 'list'],
  ['IROHA_CALLBACK_TIMEOUT_MS', ['iroha', 'callbackTimeoutMs'], 'int'],
];
