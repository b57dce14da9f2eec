// SqlStore: the Store implementation shared by the SQLite and PostgreSQL backends. Domain
// logic never builds SQL; this file is the only place that speaks it.
#pragma once

#include <memory>

#include "store/sql/sql_db.h"
#include "store/store.h"

namespace gh::sql {

std::unique_ptr<Store> MakeSqlStore(std::unique_ptr<Db> db);

}  // namespace gh::sql
