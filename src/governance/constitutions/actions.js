// The action library of the shipped constitutions (docs/governance.md, "Actions"). A constitution
// is one self-contained ES module; each shipped one is this file followed by a policy file
// (default.js, veto.js, operator.js) that exports validate, resolve and apply.
// `host` is the sandbox's host-function object (src/governance/runtime.ts lists them).

const MAP = {
  memberCerts: "public:coterie.gov.members.certs",
  memberInfo: "public:coterie.gov.members.info",
  userCerts: "public:coterie.gov.users.certs",
  userInfo: "public:coterie.gov.users.info",
  nodeInfo: "public:coterie.gov.nodes.info",
  serviceInfo: "public:coterie.gov.service.info",
  serviceConfig: "public:coterie.gov.service.config",
  constitution: "public:coterie.gov.constitution",
  appBundle: "public:coterie.gov.app.bundle",
  jwtIssuers: "public:coterie.gov.jwt.issuers",
  triggers: "public:coterie.gov.service.triggers",
  recovery: "public:coterie.gov.recovery.config",
  codeIds: "public:coterie.gov.nodes.code_ids",
  hostData: "public:coterie.gov.nodes.host_data",
  snpTcb: "public:coterie.gov.nodes.snp_tcb",
};
const SNP_PRODUCTS = ["Milan", "Genoa", "Turin"];

function fail(message) {
  throw new Error(message);
}

/** `args` is an object with exactly the `required` keys and any of the `optional` ones. */
function checkArgs(args, required, optional = []) {
  if (typeof args !== "object" || args === null || Array.isArray(args)) fail("args must be an object");
  for (const k of required) if (!(k in args)) fail(`missing argument ${k}`);
  for (const k of Object.keys(args)) {
    if (!required.includes(k) && !optional.includes(k)) fail(`unknown argument ${k}`);
  }
}
function checkString(value, name) {
  if (typeof value !== "string" || value.length === 0) fail(`${name} must be a non-empty string`);
}
function checkHex(value, bytes, name) {
  if (typeof value !== "string" || value.length !== bytes * 2 || !/^[0-9a-f]+$/.test(value)) {
    fail(`${name} must be ${bytes} bytes as lowercase hex`);
  }
}
function checkInteger(value, min, max, name) {
  if (!Number.isInteger(value) || value < min || value > max)
    fail(`${name} must be an integer ${min}..${max}`);
}
function checkJson(value, name) {
  if (value === undefined || JSON.stringify(value).length > 64 * 1024)
    fail(`${name} must be JSON up to 64 KiB`);
}
function must(map, key, what) {
  const value = host.kv_get(map, key);
  if (value === null) fail(`no ${what} ${key}`);
  return value;
}
function activeMemberIds() {
  return host
    .kv_entries(MAP.memberInfo)
    .filter(([, info]) => info.status === "Active")
    .map(([id]) => id);
}

const ACTIONS = {
  set_constitution: {
    validate(a) {
      checkArgs(a, ["constitution"]);
      checkString(a.constitution, "constitution");
      const reason = host.validate_constitution(a.constitution);
      if (reason !== null) fail(`the constitution does not load: ${reason}`);
    },
    apply(a) {
      host.kv_put(MAP.constitution, "constitution", a.constitution);
    },
  },
  set_member: {
    validate(a) {
      checkArgs(a, ["cert"], ["member_data", "encryption_public_key"]);
      host.member_cert_id(a.cert);
      if ("member_data" in a) checkJson(a.member_data, "member_data");
      if ("encryption_public_key" in a && !/^-----BEGIN PUBLIC KEY-----/.test(a.encryption_public_key)) {
        fail("encryption_public_key must be a PEM public key");
      }
    },
    apply(a) {
      const id = host.member_cert_id(a.cert);
      const old = host.kv_get(MAP.memberInfo, id);
      const info = { status: old === null ? "Accepted" : old.status };
      if ("member_data" in a) info.member_data = a.member_data;
      if ("encryption_public_key" in a) info.encryption_public_key = a.encryption_public_key;
      host.kv_put(MAP.memberCerts, id, a.cert);
      host.kv_put(MAP.memberInfo, id, info);
    },
  },
  remove_member: {
    validate(a) {
      checkArgs(a, ["member_id"]);
      checkHex(a.member_id, 32, "member_id");
    },
    apply(a) {
      must(MAP.memberInfo, a.member_id, "member");
      if (activeMemberIds().filter((id) => id !== a.member_id).length === 0)
        fail("cannot remove the last active member");
      host.kv_delete(MAP.memberCerts, a.member_id);
      host.kv_delete(MAP.memberInfo, a.member_id);
    },
  },
  set_member_data: {
    validate(a) {
      checkArgs(a, ["member_id", "member_data"]);
      checkHex(a.member_id, 32, "member_id");
      checkJson(a.member_data, "member_data");
    },
    apply(a) {
      const info = must(MAP.memberInfo, a.member_id, "member");
      host.kv_put(MAP.memberInfo, a.member_id, { ...info, member_data: a.member_data });
    },
  },
  set_user: {
    validate(a) {
      checkArgs(a, ["cert"], ["user_data"]);
      host.cert_id(a.cert);
      if ("user_data" in a) checkJson(a.user_data, "user_data");
    },
    apply(a) {
      const id = host.cert_id(a.cert);
      host.kv_put(MAP.userCerts, id, a.cert);
      host.kv_put(MAP.userInfo, id, "user_data" in a ? { user_data: a.user_data } : {});
    },
  },
  remove_user: {
    validate(a) {
      checkArgs(a, ["user_id"]);
      checkHex(a.user_id, 32, "user_id");
    },
    apply(a) {
      must(MAP.userInfo, a.user_id, "user");
      host.kv_delete(MAP.userCerts, a.user_id);
      host.kv_delete(MAP.userInfo, a.user_id);
    },
  },
  set_user_data: {
    validate(a) {
      checkArgs(a, ["user_id", "user_data"]);
      checkHex(a.user_id, 32, "user_id");
      checkJson(a.user_data, "user_data");
    },
    apply(a) {
      must(MAP.userInfo, a.user_id, "user");
      host.kv_put(MAP.userInfo, a.user_id, { user_data: a.user_data });
    },
  },
  transition_node_to_trusted: {
    validate(a) {
      checkArgs(a, ["node_id"]);
      checkHex(a.node_id, 32, "node_id");
    },
    apply(a) {
      const node = must(MAP.nodeInfo, a.node_id, "node");
      if (node.status !== "Pending") fail(`node ${a.node_id} is ${node.status}, not Pending`);
      host.kv_put(MAP.nodeInfo, a.node_id, { ...node, status: "Trusted" });
    },
  },
  remove_node: {
    validate(a) {
      checkArgs(a, ["node_id"]);
      checkHex(a.node_id, 32, "node_id");
    },
    apply(a) {
      const node = must(MAP.nodeInfo, a.node_id, "node");
      if (node.status === "Retired") fail(`node ${a.node_id} is already Retired`);
      const trusted = host
        .kv_entries(MAP.nodeInfo)
        .filter(([id, n]) => n.status === "Trusted" && id !== a.node_id);
      if (node.status === "Trusted" && trusted.length === 0) fail("cannot retire the last trusted node");
      host.kv_put(MAP.nodeInfo, a.node_id, { ...node, status: "Retired" });
    },
  },
  transition_service_to_open: {
    validate(a) {
      checkArgs(a ?? {}, []);
    },
    apply() {
      const service = must(MAP.serviceInfo, "service", "service record");
      if (service.status === "Open") fail("the service is already Open");
      host.kv_put(MAP.serviceInfo, "service", { ...service, status: "Open" });
    },
  },
  set_app: {
    validate(a) {
      checkArgs(a, ["source"], ["limits"]);
      checkString(a.source, "source");
      if ("limits" in a) {
        if (typeof a.limits !== "object" || a.limits === null) fail("limits must be an object");
        for (const [k, v] of Object.entries(a.limits)) checkInteger(v, 1, 2 ** 32, `limits.${k}`);
      }
      const reason = host.validate_app_bundle(a.source);
      if (reason !== null) fail(`the app bundle is refused: ${reason}`);
    },
    apply(a) {
      host.kv_put(
        MAP.appBundle,
        "bundle",
        "limits" in a ? { source: a.source, limits: a.limits } : { source: a.source },
      );
    },
  },
  remove_app: {
    validate(a) {
      checkArgs(a ?? {}, []);
    },
    apply() {
      must(MAP.appBundle, "bundle", "app bundle");
      host.kv_delete(MAP.appBundle, "bundle");
    },
  },
  set_jwt_issuer: {
    validate(a) {
      checkArgs(a, ["issuer", "jwks"], ["audience"]);
      checkString(a.issuer, "issuer");
      if ("audience" in a) checkString(a.audience, "audience");
      const keys = a.jwks?.keys;
      if (!Array.isArray(keys) || keys.length === 0 || keys.length > 64)
        fail("jwks.keys must hold 1..64 JWKs");
      for (const k of keys) {
        if (typeof k !== "object" || k === null || typeof k.kty !== "string") fail("each JWK needs kty");
        if (typeof k.kid !== "string") fail("each JWK needs a kid");
        if ("d" in k) fail(`JWK ${k.kid} holds a private key`);
      }
    },
    apply(a) {
      const value = { jwks: { keys: a.jwks.keys } };
      if ("audience" in a) value.audience = a.audience;
      host.kv_put(MAP.jwtIssuers, a.issuer, value);
    },
  },
  remove_jwt_issuer: {
    validate(a) {
      checkArgs(a, ["issuer"]);
      checkString(a.issuer, "issuer");
    },
    apply(a) {
      must(MAP.jwtIssuers, a.issuer, "JWT issuer");
      host.kv_delete(MAP.jwtIssuers, a.issuer);
    },
  },
  add_code_measurement: {
    validate(a) {
      checkArgs(a, ["measurement"]);
      checkHex(a.measurement, 48, "measurement");
    },
    apply(a) {
      host.kv_put(MAP.codeIds, a.measurement, { status: "AllowedToJoin" });
    },
  },
  remove_code_measurement: {
    validate(a) {
      checkArgs(a, ["measurement"]);
      checkHex(a.measurement, 48, "measurement");
    },
    apply(a) {
      must(MAP.codeIds, a.measurement, "allowed measurement");
      host.kv_delete(MAP.codeIds, a.measurement);
    },
  },
  add_host_data: {
    validate(a) {
      checkArgs(a, ["host_data"], ["description"]);
      checkHex(a.host_data, 32, "host_data");
      if ("description" in a) checkString(a.description, "description");
    },
    apply(a) {
      host.kv_put(MAP.hostData, a.host_data, "description" in a ? { description: a.description } : {});
    },
  },
  remove_host_data: {
    validate(a) {
      checkArgs(a, ["host_data"]);
      checkHex(a.host_data, 32, "host_data");
    },
    apply(a) {
      must(MAP.hostData, a.host_data, "allowed host data");
      host.kv_delete(MAP.hostData, a.host_data);
    },
  },
  set_snp_minimum_tcb: {
    validate(a) {
      checkArgs(a, ["product", "tcb"]);
      if (!SNP_PRODUCTS.includes(a.product)) fail(`product must be one of ${SNP_PRODUCTS.join(", ")}`);
      checkArgs(a.tcb, ["bootloader", "tee", "snp", "microcode"], ["fmc"]);
      for (const [k, v] of Object.entries(a.tcb)) checkInteger(v, 0, 255, `tcb.${k}`);
    },
    apply(a) {
      host.kv_put(MAP.snpTcb, a.product, a.tcb);
    },
  },
  trigger_ledger_rekey: {
    validate(a) {
      checkArgs(a ?? {}, []);
    },
    apply(_a, proposalId) {
      host.kv_put(MAP.triggers, "ledger_rekey", { proposal_id: proposalId });
    },
  },
  trigger_snapshot: {
    validate(a) {
      checkArgs(a ?? {}, []);
    },
    apply(_a, proposalId) {
      host.kv_put(MAP.triggers, "snapshot", { proposal_id: proposalId });
    },
  },
  set_recovery_threshold: {
    validate(a) {
      checkArgs(a, ["threshold"]);
      checkInteger(a.threshold, 1, 255, "threshold");
    },
    apply(a) {
      const holders = host
        .kv_entries(MAP.memberInfo)
        .filter(([, m]) => typeof m.encryption_public_key === "string");
      if (a.threshold > holders.length) {
        fail(`threshold ${a.threshold} exceeds the ${holders.length} members with an encryption key`);
      }
      host.kv_put(MAP.recovery, "config", { threshold: a.threshold });
    },
  },
  set_service_configuration: {
    validate(a) {
      checkArgs(a, [], ["signature_interval_txs", "signature_interval_ms", "gov_request_window_s"]);
      if (Object.keys(a).length === 0) fail("set at least one setting");
      if ("signature_interval_txs" in a)
        checkInteger(a.signature_interval_txs, 1, 100000, "signature_interval_txs");
      if ("signature_interval_ms" in a)
        checkInteger(a.signature_interval_ms, 1, 3600000, "signature_interval_ms");
      if ("gov_request_window_s" in a)
        checkInteger(a.gov_request_window_s, 10, 86400, "gov_request_window_s");
    },
    apply(a) {
      const old = host.kv_get(MAP.serviceConfig, "config") ?? {};
      host.kv_put(MAP.serviceConfig, "config", { ...old, ...a });
    },
  },
};

/** Checks every action; the first refusal names the action and why. */
// biome-ignore lint/correctness/noUnusedVariables: the policy file concatenated after this one calls it
function validateActions(proposal) {
  const actions = proposal?.actions;
  if (!Array.isArray(actions) || actions.length === 0) return { valid: false, description: "no actions" };
  for (let i = 0; i < actions.length; i++) {
    const { name, args } = actions[i];
    const action = ACTIONS[name];
    if (action === undefined) return { valid: false, description: `action ${i} (${name}): unknown action` };
    try {
      action.validate(args ?? {});
    } catch (error) {
      return { valid: false, description: `action ${i} (${name}): ${error.message}` };
    }
  }
  return { valid: true };
}

/** Applies the actions in order; a failure fails the whole proposal (nothing is written). */
// biome-ignore lint/correctness/noUnusedVariables: the policy file concatenated after this one calls it
function applyActions(proposal, proposalId) {
  for (const { name, args } of proposal.actions) ACTIONS[name].apply(args ?? {}, proposalId);
}
