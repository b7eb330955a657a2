import { ArrayType, EntitySchema } from '@mikro-orm/core';
import { v7 as uuidv7 } from 'uuid';

/** A registered user who may ask to be matched. */
export class User {
  id: string = uuidv7();
  name!: string;
  region!: string;
  interests!: string[];
  createdAt: Date = new Date();

  static register(input: { name: string; region: string; interests: string[] }): User {
    const user = new User();
    user.name = input.name;
    user.region = input.region;
    user.interests = input.interests;
    return user;
  }
}

export const UserSchema = new EntitySchema<User>({
  class: User,
  tableName: 'users',
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'text' },
    region: { type: 'text' },
    interests: { type: ArrayType, columnType: 'text[]' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
