export { listFiles, readEvents, readMembers, type Member, type StoredFile, type TornMember } from './reader'
