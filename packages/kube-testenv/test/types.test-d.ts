import type { KubeConfig } from '@kubernetes/client-node';
import { ConvergeError } from '@converge/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  ControlPlaneError,
  KubeAssetsNotFoundError,
  startTestEnv,
  type TestEnv,
  type TestEnvConnection,
  type TestEnvProgressEvent,
  type TestUser,
} from '../src/index.js';
import { useTestEnv } from '../src/vitest.js';
import setup from '../src/vitest-setup.js';

describe('public types', () => {
  it('startTestEnv keeps the DESIGN.md contract', () => {
    expectTypeOf(startTestEnv).returns.resolves.toExtend<{ kubeConfig: KubeConfig; kubeconfigPath: string; stop(): Promise<void> }>();
    expectTypeOf<TestEnv['startupMs']>().toEqualTypeOf<number>();
    expectTypeOf<TestEnv['createUser']>().returns.resolves.toEqualTypeOf<TestUser>();
  });

  it('progress events are a closed union discriminated by type', () => {
    expectTypeOf<TestEnvProgressEvent['type']>().toEqualTypeOf<
      'assets-located' | 'certificates-generated' | 'component-starting' | 'component-ready' | 'component-retrying' | 'ready' | 'stopping' | 'stopped'
    >();
    expectTypeOf<Extract<TestEnvProgressEvent, { type: 'ready' }>>().toHaveProperty('startupMs').toEqualTypeOf<number>();
  });

  it('errors are ConvergeErrors', () => {
    expectTypeOf<KubeAssetsNotFoundError>().toExtend<ConvergeError>();
    expectTypeOf<ControlPlaneError['code']>().toEqualTypeOf<'TESTENV_START_FAILED' | 'TESTENV_START_TIMEOUT' | 'TESTENV_STOPPED'>();
  });

  it('the connection is plain data and the vitest helpers fit vitest', () => {
    expectTypeOf<TestEnvConnection[keyof TestEnvConnection]>().toEqualTypeOf<string | number | undefined>();
    expectTypeOf(useTestEnv).returns.resolves.toHaveProperty('createUser');
    expectTypeOf(setup).parameter(0).toHaveProperty('provide');
  });
});
