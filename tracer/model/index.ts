export * from './types';
export * from './rules';
export * from './model';
export * from './timeline';
export * from './winsock';
export { protocolInfoKey } from './handoff';
export { socketLabel, processLabel, descriptorLabel, handleLabel, socketKindLabel, baseName, localAddressLabel, isSystemChosenPort, plural } from './describe';
