// The Security Certificates commands (trust store, server certificate, CSR, SNI domains).
import type { CommandDef } from '../../define.js';
import caAdd from './ca/add.js';
import caList from './ca/list.js';
import caShow from './ca/show.js';
import caDelete from './ca/delete.js';
import caReset from './ca/reset.js';
import serverUpload from './server/upload.js';
import serverShow from './server/show.js';
import csrCreate from './csr/create.js';
import csrShow from './csr/show.js';
import csrDiscard from './csr/discard.js';
import domainAdd from './domain/add.js';
import domainUpload from './domain/upload.js';
import domainDelete from './domain/delete.js';
import domainList from './domain/list.js';

export const CERTIFICATE_COMMANDS: readonly CommandDef[] = [
  caAdd, caList, caShow, caDelete, caReset,
  serverUpload, serverShow,
  csrCreate, csrShow, csrDiscard,
  domainAdd, domainUpload, domainDelete, domainList,
];
