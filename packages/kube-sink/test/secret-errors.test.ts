import type { KubeConfig } from '@kubernetes/client-node';
import { useTestEnv } from '@converge/kube-testenv/vitest';
import type { TestEnvClient } from '@converge/kube-testenv';
import type { ApplyResult, ConvergeError, KubeObject } from '@converge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { KubeHttpError, createTransport } from '../src/index.js';
import { ApplyConflictError, KubeForbiddenError } from '../src/errors.js';
import { leakedMarkers, marker, markerForms, numericMarker, reachableText } from './leak-check.js';
import { eventually, namespace, recordingSink, uniqueName } from './helpers.js';

let env: TestEnvClient;
let kc: KubeConfig;

beforeAll(async () => {
  env = await useTestEnv();
  kc = env.kubeConfig;
});

const WITHHELD = "the server's message was withheld because it may contain Secret values";

function secret(ns: string, name: string, fields: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', ...fields };
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function failure(r: ApplyResult | undefined): ConvergeError {
  if (!r || r.ok) throw new Error(`expected a failed result, got ${r?.ok ? 'ok' : 'nothing'}`);
  return r.error;
}

interface Case {
  name: string;
  object: KubeObject;
  markers: (string | number)[];
  /** A field path the error must still name. */
  field?: string;
}

/** Malformed Secrets whose values the API server quotes in its errors. */
function malformedSecrets(ns: string): Case[] {
  const num = numericMarker();
  const numData = numericMarker();
  const list = marker('list');
  const map = marker('map');
  const mapKey = marker('mapkey');
  const badB64 = marker('badb64');
  const longPlain = marker('long');
  const longB64 = marker('longb64');
  const badKey = marker('badkey');
  const whole = marker('whole');
  const nested = marker('nested');
  return [
    { name: 'number-stringdata', object: secret(ns, 'num', { stringData: { pin: num } }), markers: [num], field: '.stringData.pin' },
    { name: 'number-data', object: secret(ns, 'num-data', { data: { pin: numData } }), markers: [numData], field: '.data.pin' },
    { name: 'list', object: secret(ns, 'list', { data: { token: [list, b64(list)] } }), markers: [list], field: '.data.token' },
    {
      name: 'map',
      object: secret(ns, 'map', { stringData: { creds: { user: map, password: b64(map), [mapKey]: 1 } } }),
      markers: [map, mapKey],
      field: '.stringData.creds',
    },
    { name: 'invalid-base64', object: secret(ns, 'b64', { data: { key: `${badB64}!!not base64!!` } }), markers: [badB64] },
    {
      name: 'long-value-in-list',
      object: secret(ns, 'long', { stringData: { cert: [`${longPlain}${'x'.repeat(200_000)}`] } }),
      markers: [longPlain],
      field: '.stringData.cert',
    },
    {
      name: 'over-1MiB',
      object: secret(ns, 'huge', { data: { blob: b64(`${longB64}${'y'.repeat(1_100_000)}`) } }),
      markers: [longB64],
    },
    { name: 'invalid-key', object: secret(ns, 'badkey', { data: { 'bad key!': b64(badKey) } }), markers: [badKey] },
    { name: 'stringdata-not-a-map', object: secret(ns, 'whole', { stringData: whole }), markers: [whole], field: '.stringData' },
    {
      name: 'nested-in-data',
      object: secret(ns, 'nested', { data: { a: { b: [{ c: nested }] } } }),
      markers: [nested],
      field: '.data.a',
    },
  ];
}

describe('errors about Secrets carry no text from the server', () => {
  it('malformed Secrets fail with field paths and reasons but no value, in a real and a dry-run apply', async () => {
    const ns = uniqueName('sec');
    const { sink } = recordingSink(kc);
    expect((await sink.apply([namespace(ns)]))[0]?.ok).toBe(true);
    const cases = malformedSecrets(ns);
    const allMarkers = cases.flatMap((c) => c.markers);

    // The raw answers quote the values: without masking, these would leak.
    const transport = createTransport(kc);
    let rawLeaks = 0;
    for (const c of cases) {
      try {
        await transport.request({
          method: 'PATCH',
          path: `/api/v1/namespaces/${ns}/secrets/${c.object.metadata.name}`,
          query: { fieldManager: 'converge', fieldValidation: 'Strict', dryRun: 'All' },
          contentType: 'application/apply-patch+yaml',
          body: c.object,
        });
        throw new Error(`${c.name}: the server accepted it`);
      } catch (err) {
        expect(err, c.name).toBeInstanceOf(KubeHttpError);
        if (leakedMarkers(reachableText(err), c.markers).length) rawLeaks++;
      }
    }
    await transport.close();
    expect(rawLeaks).toBeGreaterThanOrEqual(5);

    for (const dryRun of [false, true]) {
      const results = await sink.apply(
        cases.map((c) => c.object),
        { dryRun },
      );
      results.forEach((r, i) => {
        const c = cases[i] as Case;
        const error = failure(r);
        const text = `${reachableText(results)}\n${JSON.stringify(error)}\n${JSON.stringify(r)}`;
        expect(leakedMarkers(text, allMarkers), `${c.name} (dryRun ${dryRun})`).toEqual([]);
        expect(error.code, c.name).toBe('KUBE_INVALID');
        expect(error.retryable, c.name).toBe(false);
        expect(error.message, c.name).toContain(WITHHELD);
        expect(error.message, c.name).toContain(`Secret ${ns}/${c.object.metadata.name}`);
        expect(error.data, c.name).toMatchObject({ messageWithheld: true, ref: { kind: 'Secret', name: c.object.metadata.name } });
        expect(typeof error.data['status']).toBe('number');
        expect(JSON.stringify(error.cause), c.name).not.toMatch(/"message"/);
        if (c.field) {
          expect(error.data['fields'], c.name).toContain(c.field);
          expect(error.message, c.name).toContain(c.field);
        }
      });
      // Validation errors keep the causes' reasons and fields.
      const badKey = failure(results[cases.findIndex((c) => c.name === 'invalid-key')]);
      expect(badKey.code).toBe('KUBE_INVALID');
      expect(badKey.data['fields']).toEqual(['data[bad key!]']);
      expect(badKey.message).toContain('data[bad key!] (FieldValueInvalid)');
      const huge = failure(results[cases.findIndex((c) => c.name === 'over-1MiB')]);
      expect(huge.code).toBe('KUBE_INVALID');
      expect(huge.data['fields']).toEqual(['data']);
    }
    await sink.close();
  });

  it('a 403 for a Secret names user, verb and resource but keeps no server text', async () => {
    const ns = uniqueName('sec-rbac');
    const { sink: admin } = recordingSink(kc);
    await admin.apply([namespace(ns)]);
    await admin.close();
    const user = await env.createUser(`no-secrets-${ns}`);
    const value = marker('rbac');
    const { sink } = recordingSink(user.kubeConfig);
    const [r] = await sink.apply([secret(ns, 'db', { stringData: { password: value } })]);
    const error = failure(r);
    expect(error).toBeInstanceOf(KubeForbiddenError);
    expect(error.data).toMatchObject({ status: 403, verb: 'patch', resource: 'secrets', user: `no-secrets-${ns}`, messageWithheld: true });
    expect(error.message).toContain(`may not patch secrets in namespace "${ns}"`);
    expect(leakedMarkers(reachableText(r), [value])).toEqual([]);
    await sink.close();
  });

  it('an admission policy denial that quotes a Secret value is withheld', async () => {
    const ns = uniqueName('sec-vap');
    const { sink } = recordingSink(kc);
    const policy = `deny-${ns}`;
    const applied = await sink.apply([
      namespace(ns),
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] }],
          },
          validations: [
            {
              expression: "!has(object.data) || !('password' in object.data)",
              messageExpression: "'the password ' + string(object.data['password']) + ' is not allowed'",
              reason: 'Forbidden',
            },
          ],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: policy },
        spec: {
          policyName: policy,
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
        },
      },
    ]);
    expect(applied.map((r) => r.ok)).toEqual([true, true, true]);

    const value = marker('vap');
    const rawValue = marker('vapraw');
    // The policy takes effect once the API server has loaded it.
    let result: ApplyResult | undefined;
    await eventually(async () => {
      [result] = await sink.apply([secret(ns, 'db', { data: { password: b64(value) } })], { dryRun: true });
      return result?.ok === false;
    }, 30_000);
    const error = failure(result);
    expect(error.code).toBe('KUBE_FORBIDDEN');
    expect(error.data).toMatchObject({ status: 403, reason: 'Forbidden', messageWithheld: true });
    expect(error.message).toContain(WITHHELD);
    expect(leakedMarkers(reachableText(result), [value])).toEqual([]);

    // The server's own answer quotes the value: the withholding is what hides it.
    const transport = createTransport(kc);
    const raw = await transport
      .request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns}/secrets/db`,
        query: { fieldManager: 'converge', dryRun: 'All' },
        contentType: 'application/apply-patch+yaml',
        body: secret(ns, 'db', { data: { password: b64(rawValue) } }),
      })
      .catch((e: unknown) => e);
    await transport.close();
    expect(markerForms(rawValue).some((f) => reachableText(raw).includes(f))).toBe(true);

    await sink.delete([
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicyBinding', name: policy },
      { group: 'admissionregistration.k8s.io', kind: 'ValidatingAdmissionPolicy', name: policy },
    ]);
    await sink.close();
  });

  it('an apply conflict over a Secret names managers and fields but no value', async () => {
    const ns = uniqueName('sec-conf');
    const theirs = marker('theirs');
    const ours = marker('ours');
    const { sink: other } = recordingSink(kc, { fieldManager: 'team-b-deployer' });
    const first = await other.apply([namespace(ns), secret(ns, 'shared', { data: { password: b64(theirs) } })]);
    expect(first.map((r) => r.ok)).toEqual([true, true]);
    await other.close();

    const { sink } = recordingSink(kc);
    for (const dryRun of [false, true]) {
      const [r] = await sink.apply([secret(ns, 'shared', { data: { password: b64(ours) } })], { dryRun });
      const error = failure(r);
      expect(error).toBeInstanceOf(ApplyConflictError);
      expect(error.data).toMatchObject({ managers: ['team-b-deployer'], fields: ['.data.password'], status: 409, messageWithheld: true });
      expect(error.message).toContain('"team-b-deployer"');
      expect(leakedMarkers(reachableText(r), [theirs, ours])).toEqual([]);
    }
    await sink.close();
  });
});

