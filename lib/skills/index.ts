// Skills (issue 9): SKILL.md parsing, storage with immutable versions, sharing, and what each
// user sees. The MCP server uses listVisibleSkills / getVisibleSkill / renderSkill and the change
// signals; the dashboard and the CLI use the service functions. Interface notes: README "Skills".
export { publishSkillsChanged, skillsChangesReady, subscribeSkillsChanged, type SkillsChange, type SkillsChangeListener } from './changes';
export { MAX_SKILL_FILE_BYTES, MAX_SKILL_FILES, MAX_SKILL_FILES_TOTAL_BYTES } from './files';
export {
  SKILL_MARKDOWN_MAX_BYTES,
  SKILL_NAME_PATTERN,
  describeSkillIssues,
  frontmatterSchema,
  normaliseSkillMarkdown,
  parseSkillMarkdown,
  serialiseSkillMarkdown,
  skillNameSchema,
  type ParsedSkill,
  type SkillArgument,
  type SkillFrontmatter,
  type SkillIssue,
  type SkillParseResult,
} from './frontmatter';
export { SkillArgumentError, renderSkill, type RenderableSkill } from './render';
export type { SkillFileContent, SkillSharing, VersionSummary } from './repository';
export {
  SKILL_RESTORE_DAYS,
  SkillValidationError,
  createSkill,
  deleteSkill,
  getOwnSkill,
  getViewableSkill,
  importSkill,
  listOwnSkills,
  listSharedWithMe,
  purgeDeletedSkills,
  restoreDeletedSkill,
  restoreSkillVersion,
  saveSkill,
  shareSkill,
  skillActorByEmail,
  skillHistory,
  skillVersion,
  validateSkillMarkdown,
  type OwnSkill,
  type SaveResult,
  type SharingChange,
  type SkillActor,
  type SkillInput,
  type SkillVersionDetail,
} from './service';
export { getVisibleSkill, listVisibleSkills, type SkillActorRef, type VisibleSkill } from './visible';
export {
  SkillImportError,
  bundlesFromFiles,
  bundlesFromFolder,
  bundlesFromUpload,
  departmentSkillsPlugin,
  exportOwnSkills,
  importSkillBundles,
  ownSkillsPlugin,
  skillsPluginZip,
  skillsZip,
  type ImportedSkill,
  type SkillBundle,
} from './archive';
export { dashboardSkillActor, filterSkills, parseSkillFilters, shareTargets, type ShareTargets, type SkillFilters } from './dashboard';
