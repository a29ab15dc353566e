export { appFactory, type AppFactoryOptions } from './app-factory.ts';
