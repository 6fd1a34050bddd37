// Every xCommand, explicitly. A command not listed here does not exist.
import type { CommandDef } from './define.js';
import boot from './systemunit/boot.js';
import adminPassword from './systemunit/adminpassword.js';
import userAdd from './systemunit/user/add.js';
import userDelete from './systemunit/user/delete.js';
import userList from './systemunit/user/list.js';
import passwordChange from './systemunit/user/password/change.js';
import passwordSet from './systemunit/user/password/set.js';
import configExport from './systemunit/configuration/export.js';
import configImport from './systemunit/configuration/import.js';
import keyAdd from './ssh/authorizedkey/add.js';
import keyList from './ssh/authorizedkey/list.js';
import keyDelete from './ssh/authorizedkey/delete.js';
import clusteringJoin from './clustering/join.js';
import clusteringLeave from './clustering/leave.js';
import { ACME_COMMANDS } from './security/acme/index.js';
import { CERTIFICATE_COMMANDS } from './security/certificates/index.js';

export const COMMANDS: readonly CommandDef[] = [
  boot,
  adminPassword,
  userAdd,
  userDelete,
  userList,
  passwordChange,
  passwordSet,
  configExport,
  configImport,
  keyAdd,
  keyList,
  keyDelete,
  clusteringJoin,
  clusteringLeave,
  ...ACME_COMMANDS,
  ...CERTIFICATE_COMMANDS,
];
