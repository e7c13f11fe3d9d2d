/**
 * The shared wire types and patterns. The contracts package also holds the control plane's DTO classes, whose
 * decorators need the Reflect metadata API at load time, so it is loaded here, before them.
 */
import 'reflect-metadata';

export * from '@meshgate/contracts';
