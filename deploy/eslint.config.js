import root from '../eslint.config.js';

export default [
  ...root,
  {
    // The tests walk parsed YAML (manifests, Compose, Helm values) whose shape is what they
    // check; typing every manifest would restate the schemas they validate against.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
];
