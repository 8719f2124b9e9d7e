// The sandbox of `wasi:http/outgoing-handler` in Node: the same rules as the
// Rust host's policy. A request goes out only to an allowed origin (exact
// scheme, host and port), plain http only to loopback and only when allowed,
// with its timeouts clamped to the policy's; anything else is refused with
// `HTTP-request-denied` before a connection is opened. The response bytes an
// instance receives are counted: past `maxResponseBytes`, reading a body
// fails, as in the Rust host.

import { http as shim, io } from "@bytecodealliance/preview2-shim";

const NS = 1_000_000n;

/** The policy's defaults, as the Rust host's `SandboxPolicy`. */
export const DEFAULT_POLICY = {
  allowed: [],
  allowHttpLoopback: false,
  connectTimeoutMs: 15_000,
  firstByteTimeoutMs: 120_000,
  betweenBytesTimeoutMs: 60_000,
  maxResponseBytes: 4 * 2 ** 30,
};

/** Whether `host` is the local machine: `localhost`, an IPv4 address in 127.0.0.0/8 or `::1`. */
export function isLoopback(host) {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1") return true;
  const parts = h.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** `{scheme, host, port}` of a URL or bare host; throws on userinfo or other schemes. */
export function parseOrigin(input) {
  const text = input.includes("://") ? input : `https://${input}`;
  const url = new URL(text);
  if (url.username || url.password) {
    throw new Error("a destination with a user name or password (`user@host`) is refused: credentials go in the token");
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme !== "https" && scheme !== "http") throw new Error(`${input}: only http and https destinations exist`);
  const port = url.port ? Number(url.port) : scheme === "https" ? 443 : 80;
  return { scheme, host: url.hostname.toLowerCase().replace(/^\[|\]$/g, ""), port };
}

const originText = (o) => `${o.scheme}://${o.host}:${o.port}`;

/** Why a request to `scheme://authority` is refused under `policy`, or null. */
export function refusal(policy, scheme, authority) {
  let origin;
  try {
    origin = parseOrigin(`${scheme}://${authority}`);
  } catch (e) {
    return e.message;
  }
  if (origin.scheme === "http" && !(policy.allowHttpLoopback && isLoopback(origin.host))) {
    return `plain http to ${originText(origin)} is not allowed (only https; http only to loopback when the embedder enables it)`;
  }
  if (!policy.allowed.some((a) => originText(a) === originText(origin))) {
    const allowed = policy.allowed.map(originText).join(", ") || "nothing";
    return `${originText(origin)} is not in the sandbox policy (allowed: ${allowed})`;
  }
  return null;
}

/** The policy allowing the origin of `accessUrl` (http only when it is loopback). */
export function allowingAccessUrl(policy, accessUrl) {
  const origin = parseOrigin(accessUrl.trim());
  return {
    ...policy,
    allowed: [...policy.allowed, origin],
    allowHttpLoopback: policy.allowHttpLoopback || (origin.scheme === "http" && isLoopback(origin.host)),
  };
}

function clamp(asked, capMs) {
  const cap = BigInt(capMs) * NS;
  return asked === undefined || asked > cap ? cap : asked;
}

/**
 * `future` (a `future-incoming-response`) whose response body counts what it
 * reads into `budget.used` and fails past `budget.max`. The shim's own
 * resources are kept (jco recognises them), with their methods wrapped.
 */
function counted(future, budget, onLimit) {
  const wrap = (object, method, after) => {
    const original = object[method].bind(object);
    object[method] = (...args) => after(original(...args));
  };
  const count = (bytes) => {
    budget.used += bytes.length;
    if (budget.used > budget.max) {
      onLimit(budget.max);
      // As wasmtime reports it: the error code `HTTP-response-body-size`.
      const error = new io.error.Error({ tag: "HTTP-response-body-size", val: BigInt(budget.max) });
      error.message = `the response bytes of this instance passed the sandbox's cap of ${budget.max} (setting maxResponseBytes)`;
      throw { tag: "last-operation-failed", val: error };
    }
    return bytes;
  };
  wrap(future, "get", (ret) => {
    if (ret?.tag === "ok" && ret.val?.tag === "ok") {
      wrap(ret.val.val, "consume", (body) => {
        wrap(body, "stream", (stream) => {
          wrap(stream, "read", count);
          wrap(stream, "blockingRead", count);
          return stream;
        });
        return body;
      });
    }
    return ret;
  });
  return future;
}

/**
 * The `wasi:http/outgoing-handler` import under `policy`; `onDenied` hears
 * each refusal, `onLimit` the response cap when it is reached.
 */
export function sandboxedOutgoingHandler(policy, onDenied, onLimit = () => {}) {
  const budget = { used: 0, max: policy.maxResponseBytes };
  return {
    handle(request, options) {
      const scheme = request.scheme();
      const name = scheme?.tag === "HTTP" ? "http" : scheme?.tag === "HTTPS" ? "https" : scheme?.val ?? "https";
      const authority = request.authority() ?? "";
      const why = refusal(policy, name, authority);
      if (why) {
        onDenied(`denied ${name}://${authority}${request.pathWithQuery() ?? ""}: ${why}`);
        throw { tag: "HTTP-request-denied" };
      }
      const clamped = new shim.types.RequestOptions();
      clamped.setConnectTimeout(clamp(options?.connectTimeout(), policy.connectTimeoutMs));
      clamped.setFirstByteTimeout(clamp(options?.firstByteTimeout(), policy.firstByteTimeoutMs));
      clamped.setBetweenBytesTimeout(clamp(options?.betweenBytesTimeout(), policy.betweenBytesTimeoutMs));
      return counted(shim.outgoingHandler.handle(request, clamped), budget, onLimit);
    },
  };
}
