/** PUT /modules (raw wasm), GET /modules (a page of what is stored) and GET /modules/:hash: the content-addressed module store. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { inspect, type ModuleInfo } from '../../engine/prepare.js';
import { formatFuncType } from '../../wasm/module.js';
import type { TieredModuleStore } from '../../store/tiered-store.js';
import { bodyTooLarge, HttpError, moduleTooLarge, storeOr503, unsupportedMediaType } from '../errors.js';
import { hashProblem, shown } from '../input-hints.js';
import { explainInvalid, type ModuleResolver } from '../module-resolver.js';
import { summaryOf } from '../module-summary.js';
import { ERROR_EXAMPLES as E, errorResponse, HashParams, moduleInfoResponse, ModuleListQuery, ModuleListResponse } from '../schemas.js';

export interface ModulesRouteOptions {
  store: TieredModuleStore;
  resolver: ModuleResolver;
  maxModuleBytes: number;
}

export function moduleInfoBody(info: ModuleInfo) {
  return {
    hash: info.hash,
    bytes: info.bytes,
    imports: info.imports.map((i) => ({ module: i.module, name: i.name, kind: i.kind, ...(i.type ? { type: formatFuncType(i.type) } : {}) })),
    exports: info.exports.map((e) => ({ name: e.name, kind: e.kind, ...(e.type ? { type: formatFuncType(e.type) } : {}) })),
    memoryPages: info.memoryPages,
    ffi: info.ffi,
    layout: info.layout,
  };
}

const WASM_TYPES = ['application/wasm', 'application/octet-stream'];

/** GET /modules page sizes. */
const LIST_DEFAULT = 100;
const LIST_MAX = 1000;

/** `limit` of GET /modules as a number, or a 400 saying what to send. */
function pageSize(limit: string | undefined): number {
  if (limit === undefined) return LIST_DEFAULT;
  const n = /^\d{1,7}$/.test(limit) ? Number(limit) : NaN;
  if (!(n >= 1 && n <= LIST_MAX)) throw new HttpError(400, 'bad_request', `querystring.limit must be an integer from 1 to ${LIST_MAX} (default ${LIST_DEFAULT}), got ${shown(limit)}`);
  return n;
}

export const modulesRoute: FastifyPluginAsyncTypebox<ModulesRouteOptions> = async (app, { store, resolver, maxModuleBytes }) => {
  const bodyLimit = app.initialConfig.bodyLimit ?? 1024 * 1024; // Fastify's default
  // Raw module bytes, read up to the module size limit (a chunked body over it is refused while streaming).
  const readLimit = Math.min(maxModuleBytes, bodyLimit);
  for (const type of WASM_TYPES) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: readLimit }, (_req, body, done) => done(null, body));
  }

  app.put(
    '/modules',
    {
      bodyLimit: readLimit,
      // the body schema documents the upload (a binary body, for Swagger UI's file picker); the
      // handler checks the bytes, so nothing validates them against it
      validatorCompiler: () => () => true,
      config: { accepts: WASM_TYPES, moduleLimit: maxModuleBytes },
      // a declared length over a limit is refused before the body is read, naming the limit it is over
      onRequest: async (req) => {
        const declared = req.headers['content-length'];
        const n = declared === undefined || !/^\d+$/.test(declared) ? NaN : Number(declared);
        if (!Number.isSafeInteger(n)) return;
        if (n > bodyLimit) throw bodyTooLarge(bodyLimit, n);
        if (n > maxModuleBytes) throw moduleTooLarge('the module', maxModuleBytes, n);
      },
      schema: {
        summary: 'Store a module (body: the raw wasm bytes, Content-Type application/wasm)',
        description: `The body is the module itself (at most the module size limit, policy.maxModuleBytes: ${maxModuleBytes} bytes), with Content-Type ${WASM_TYPES.join(' or ')}. See docs/API.md.`,
        consumes: WASM_TYPES,
        body: { type: 'string', format: 'binary', description: 'the module\'s raw bytes (a .wasm file; e.g. `curl --data-binary @file.wasm`)' },
        response: {
          200: moduleInfoResponse('The module was already stored'),
          201: moduleInfoResponse('The module is new: stored'),
          400: errorResponse('An empty body', { kind: 'bad_request', message: 'the body is empty: send the module bytes' }),
          401: errorResponse('No or a wrong bearer token (when auth.token is set)', E.unauthorized),
          413: errorResponse('A module over the module size limit (or a body over the body size limit)', E.putTooLarge),
          415: errorResponse('The body is not application/wasm (or application/octet-stream)', E.modulesMediaType),
          422: errorResponse('The module is invalid or breaks the policy', E.invalidBody, E.policyViolation),
          503: errorResponse('The shared store (store.shared) failed: the module is kept on this replica only; retry after `Retry-After` seconds. Or the process is overloaded', E.storePutUnavailable, E.overloaded),
        },
      },
    },
    async (req, reply) => {
      // a JSON body gets here parsed by Fastify's JSON parser
      if (!Buffer.isBuffer(req.body)) throw unsupportedMediaType(req);
      const bytes = new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.length);
      if (bytes.length === 0) throw new HttpError(400, 'bad_request', 'the body is empty: send the module bytes');
      // validate, check policy and compile now, so a bad module is refused at upload
      // (its prepared form persists with it: a restart need not instrument it again)
      const prepared = await resolver.prepareStored(bytes).catch((e: unknown) => {
        throw explainInvalid(e, bytes, 'the body', { inline: false });
      });
      const { created } = await storeOr503(store.put(bytes), 'so the module is kept on this replica only (another would answer 404 for it): retry the upload');
      req.log.info({ hash: prepared.info.hash, bytes: bytes.length, created }, 'module stored');
      return reply.status(created ? 201 : 200).send(moduleInfoBody(prepared.info));
    },
  );

  app.get(
    '/modules',
    {
      schema: {
        summary: 'List the modules this replica holds, a page at a time in hash order',
        description: `Each with its hash, size, first-seen time, exports and imports. \`?limit=\` 1 to ${LIST_MAX} (default ${LIST_DEFAULT}); the next page is \`?after=<next>\`. With a shared store, the modules of this replica only. See docs/API.md.`,
        querystring: ModuleListQuery,
        response: {
          200: ModuleListResponse,
          400: errorResponse('A limit outside 1 to 1000, or a cursor that is not a module hash', E.badLimit),
          401: errorResponse('No or a wrong bearer token (when auth.token is set)', E.unauthorized),
          503: errorResponse('The process is overloaded: retry after `Retry-After` seconds', E.overloaded),
        },
      },
    },
    async (req) => {
      const limit = pageSize(req.query.limit);
      const after = req.query.after ?? null;
      const bad = after === null ? null : hashProblem(after);
      if (bad) throw new HttpError(400, 'bad_request', `querystring.after is the \`next\` of the previous page, a module hash: ${bad}`);
      const page = await store.list(after, limit);
      return {
        modules: page.modules.map((m) => ({ hash: m.hash, bytes: m.bytes, firstSeen: m.firstSeen, ...summaryOf(m.summary) })),
        next: page.next,
      };
    },
  );

  app.get(
    '/modules/:hash',
    {
      schema: {
        summary: 'Describe a stored module',
        params: HashParams,
        response: {
          200: moduleInfoResponse('The stored module'),
          400: errorResponse('Not a sha256 hex', E.badHash),
          401: errorResponse('No or a wrong bearer token (when auth.token is set)', E.unauthorized),
          404: errorResponse('No stored module with that hash', E.moduleNotFound),
          503: errorResponse('Not on this replica and the shared store (store.shared) failed: retry after `Retry-After` seconds. Or the process is overloaded', E.storeGetUnavailable, E.overloaded),
        },
      },
    },
    async (req) => {
      const { hash } = req.params;
      const bad = hashProblem(hash);
      if (bad) throw new HttpError(400, 'bad_request', `the hash in the path: ${bad}`);
      const bytes = await storeOr503(store.get(hash), 'and the module is not on this replica: retry later');
      if (!bytes) throw new HttpError(404, 'not_found', `no module with hash ${hash}`);
      return moduleInfoBody(inspect(bytes).info);
    },
  );
};
