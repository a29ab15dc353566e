export { default } from '@converge/kube-testenv/vitest-setup';
