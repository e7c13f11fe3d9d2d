/** jest's globalTeardown: stops the PostgreSQL cluster the globalSetup started for this run, if it started one. */
export { globalTeardown as default } from './postgres';
